"""The composition root: the `tripwatch` command line, `up` and its supervision, the embedded services. Nothing imports it."""
