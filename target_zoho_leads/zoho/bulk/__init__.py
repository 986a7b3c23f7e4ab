"""Zoho Bulk Write: CSV files, jobs and result files."""
