"""Logins: stored grant records, the one credential resolution, LoginDirectory, profiles,
migration.
"""
