"""Marketing list sources (static CSV files, read-only SQL queries), email normalisation and member upserts.

Pure helpers live in their own modules (``email``, ``csvfile``, ``hashing``, ``columns``, ``rejects``,
``source``); ``members`` does the bulk database work. The service layer (:mod:`dotsync.services.lists`) and the
export build on these.
"""

from dotsync.lists.email import NormalisedEmail, normalise_email
from dotsync.lists.hashing import fields_hash
from dotsync.lists.members import ImportResult, RefreshResult, load_csv
from dotsync.lists.source import SourceError, mask_url, refresh_query_list

__all__ = [
    "ImportResult",
    "NormalisedEmail",
    "RefreshResult",
    "SourceError",
    "fields_hash",
    "load_csv",
    "mask_url",
    "normalise_email",
    "refresh_query_list",
]
