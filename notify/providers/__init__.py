"""Message providers: SendGrid (email), Twilio (SMS) and the outbox (both, no set-up).

Every provider has the same small interface (see `base`), so the delivery code and the
tests run the same paths whether messages go to a real provider, a local fake server or
the outbox table.
"""
from .base import (
                   EmailBatch,
                   EmailProvider,
                   EmailRecipient,
                   SendResult,
                   SmsMessage,
                   SmsProvider,
                   apply_substitutions,
                   placeholder,
)

__all__ = ["EmailBatch", "EmailProvider", "EmailRecipient", "SendResult", "SmsMessage",
           "SmsProvider", "apply_substitutions", "placeholder"]
