"""The embedded demo: its config (demo.yaml) and the offline sandbox API its connection calls."""
