"""fieldkit.reports"""
