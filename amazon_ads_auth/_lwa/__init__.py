"""Login with Amazon: the sans-I/O protocol (consent URL, token messages, answers) and the sender
(retries, deadlines, the token POST).
"""
