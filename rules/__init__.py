"""Detection rules: the YAML rule pack and the engine that loads and validates it."""
