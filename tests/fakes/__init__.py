"""Loopback fakes of the social APIs koho calls: real HTTP servers speaking the used subset.

Each fake checks what arrives (signatures, tokens, JSON bodies) and can be told to fail: the
next N requests, or a share of them, with 429 (and the provider's reset headers), 500, 401 or a
timeout (the answer comes after the client has given up).
"""
