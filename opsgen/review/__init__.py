"""The review: what an operator reads before signing off, in a terminal, as HTML or JSON.

:mod:`~opsgen.review.data` loads one revision with its evidence and sign-off state;
:mod:`~opsgen.render.review` and :mod:`~opsgen.render.html` render it with every
untrusted string escaped (security.md ADV-19); :mod:`~opsgen.review.revdiff` compares two
revisions and their observed system diffs.
"""
