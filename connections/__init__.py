"""Every outbound request the service makes: auth, templating, mapping, caching, delivery.

Filled by the Connections issue; nothing here makes calls yet.
"""
