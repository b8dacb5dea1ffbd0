{{ config(severity='warn') }}
-- Warns (never stops a run) when a credit note could not be booked to an account and is missing from
-- fct_account_billing_monthly; the rows name it, its invoice and the reason.
select * from {{ ref('mon_billing_documents_unattributed') }}
