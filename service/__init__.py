"""HTTP edge, config, CLI and runtime wiring of the personalize decisioning service."""
