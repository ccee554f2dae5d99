"""``client-rating push-branches``: the head office's decisions (``rate-table``'s output) into
each branch's workbook, through the workbook job's lossless, atomic file path
(docs/headoffice.md, "Back to the branches").

``decisions`` opens the decisions; ``match`` finds each 营业部's workbook in a folder;
``plan`` computes what a push writes into one workbook (the job's steps, the decisions
checked against the workbook); ``extract`` takes new clients' rows from the extract;
``apply`` runs it over the folder and reports.
"""

from .apply import BranchReport, PushReport, push_branches

__all__ = ["BranchReport", "PushReport", "push_branches"]
