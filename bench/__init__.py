"""NovaCart load benchmark: `python -m bench --help`. Never part of the test suite."""
