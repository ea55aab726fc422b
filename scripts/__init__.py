"""Maintenance scripts: ``python -m scripts.docs_images`` (``make docs-images``) and the headless
browser they and the browser tests share."""
