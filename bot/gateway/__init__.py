"""Chat gateways: relay staff messages from a chat app to the Rasa server and back.

rasa_client  talks to one or more Rasa REST servers (sticky by sender)
format       fits replies to Telegram (length split, inline keyboards, tap-to-call numbers)
fallback     the reply a worker still gets when Rasa is down (999 first, alarm on danger)
telegram     the Telegram gateway (long polling or webhook) with staff-only access
"""
