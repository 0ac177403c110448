"""The management-token API: reads mirroring Contentstack Personalize Management, config reload, and
the connection test endpoint."""
