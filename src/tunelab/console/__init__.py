"""The web console: server-rendered pages (Jinja2) made live with htmx, charts
drawn by Plotly.js, served by ``tunelab serve`` beside the API under ``/console``."""
