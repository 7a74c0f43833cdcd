"""The refresh machinery: pure decisions, the grant's held token, the token manager (locks and
I/O), the background runner.
"""
