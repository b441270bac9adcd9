"""What a person or the clock can do, one entry point per use case: each runs the rules, the
money and the audit entry together in the caller's transaction. The surfaces (api, bot, the
`mealaid` command and its scheduled work) call these, never the domain internals below them."""
