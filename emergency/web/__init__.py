"""Blueprints only: what a browser, a partner system or a provider reaches over HTTP.

`console` (coordinators), `public` (travellers), `api` (/api/v1, bearer tokens) and
`webhooks` (providers, signed requests). Views collect input and call `emergency.services`.
"""
