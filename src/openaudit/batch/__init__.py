"""`openaudit batch`: many repos, one bounded worker pool, a journal that survives interruption.

``ids`` parses id lists, ``runner`` plans and runs the audits (Hub I/O in worker threads, the
pure judge in the calling thread), ``cache`` remembers finished audits, ``journal`` writes and
re-reads the JSONL records, ``progress`` draws the bar and the final summary.
"""
