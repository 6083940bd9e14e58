"""The web console (`odradek serve --console-port`): a JSON API and a static page, served by
the broker's own event loop through the tiny HTTP server in `httpd.py` (which also serves the
Prometheus endpoint)."""
