"""Pages of the evaluation app, thin views over evaluation's selectors and services, one module
per topic: `leaderboards` (a benchmark's board and its export), `submissions` (the list, a
submission's page and its buttons, /submit/, the reference folder), `pictures` (record badges
and cards) and `panels` (evaluation's sections on contrib's pages)."""
