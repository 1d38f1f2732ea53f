"""The info mail list (ねりま情報メール): messages, and (next) the channel and its transports."""
