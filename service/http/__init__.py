"""The HTTP edge shared by every wire dialect: errors, responses, request reading, JSON bodies, CORS,
access log, metrics, the edge middleware and the server."""
