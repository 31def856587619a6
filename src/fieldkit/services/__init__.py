"""fieldkit.services: the use cases that the command line and the desktop app both call.

``profile`` (identity, profile.json, unlock into a ``Session``, lock, passphrase change, data-key
rotation, wipe), ``cases``, ``notes``, ``search``, ``audit``, ``consents``, ``interventions``,
``directory``, ``knowledge``; ``assessments``, ``exports`` and ``sync`` beside them. Every write
stores its record, its sync outbox row and its audit event in one vault transaction
(``session.write``); every read the rules say is logged is logged. No Qt here: the GUI runs these
on its worker thread.
"""
