"""The review: what an operator reads before signing off, in a terminal, as HTML or JSON.

:mod:`~opsgen.review.data` loads one revision with its evidence and sign-off state;
:mod:`~opsgen.review.terminal` and :mod:`~opsgen.review.html` render it with every
untrusted string escaped (security.md ADV-19); :mod:`~opsgen.review.revdiff` compares two
revisions and their observed system diffs.
"""
