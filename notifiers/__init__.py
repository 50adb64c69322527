"""Proactive outreach: passengers hear from us first, on-call is paged, every contact lands on a case.

See docs/outreach.md. Providers live one per module (`fcm`, `twilio`, `webhook`,
`pagerduty`) and are registered in `registry.NOTIFIERS`.
"""
