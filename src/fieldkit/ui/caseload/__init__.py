"""fieldkit.ui.caseload"""
