"""Segment's dialect: the HTTP tracking API its libraries (analytics.js, analytics-python, …) send to."""
