"""A re-rating run as named steps (docs/workbook.md, "The steps of a run").

``steps``: settle → read_table → evaluate → apply_mode → new_values; ``write``: diff_columns →
change_rows → chain_log → summary_rows → outcome; ``periods``: the run window and periods in
order; ``plan.plan_run`` composes them; ``result``: RunResult, Plan, Change; ``lazy``: 级别依据
made when written.
"""
