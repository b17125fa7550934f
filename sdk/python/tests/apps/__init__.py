"""Apps the worker tests run, as importable modules (``apps.shop:app``), so the
``qraft-worker`` CLI and the process pool's children can import them by name."""
