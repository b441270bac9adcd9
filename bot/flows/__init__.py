"""The conversation's flows, one module each, on the shared `bot.turn.Turn`. A flow imports
`bot.turn`, and `bot.flows.ordering` when it walks its screens; `bot.conversation` dispatches
to them."""
