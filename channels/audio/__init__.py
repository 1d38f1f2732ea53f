"""声の広報: the audio edition of each 区報 issue and its articles (ADR 0034)."""
