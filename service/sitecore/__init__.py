"""Sitecore's wire dialect: the Interactive Experience API (callFlows in every path form), browser
identity, and the decision-model test endpoint."""
