"""payments: the municipality's biller in the national e-bill system (eFAWATEERcom).

Issues one bill per payment request, takes the provider's signed payment notifications and bill
inquiries, expires and cancels unpaid bills, and handles refunds. See README.md.
"""
