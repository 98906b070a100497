"""What both SMS emulators share: the handsets. Every message a sandbox provider accepts is kept
here per number (for the phone-like view at ``/sandbox/sms``), per-number rate limits are counted
here, delivery reports wait here to be pushed or pulled, and replies typed on a handset (TD, 退订…)
wait here for the provider's uplink push or pull.

Written from the protocol reference only; nothing here imports the SMS channel adapter."""
from channels.sandbox.sms_center.center import Accepted, Limits, Message, Reply, SmsCenter, Template

__all__ = ["Accepted", "Limits", "Message", "Reply", "SmsCenter", "Template"]
