"""Messaging: bilingual rendering, channels (email, SMS), providers (SendGrid, Twilio,
outbox), delivery tracking and provider webhooks. Imports none of our other packages."""
