"""vulture's whitelist: names that look unused in dotsync/ but are not (settings in vulture.toml).

Never imported or run; vulture only reads the names. Each entry says who uses the name. Add a name here only
when its user is outside vulture's sight (a framework, the database, a payload, the tests); code that nobody
uses is deleted instead.
"""

# ruff: noqa
# fmt: off

# --- frameworks call these by protocol ------------------------------------------------------------------------
_.get_command  # click.Group: LazyGroup (cli/lazy.py) loads commands on lookup
_.format_commands  # click.Group: --help lists lazy commands without importing them
model_config  # pydantic / pydantic-settings model configuration
_.settings_customise_sources  # pydantic-settings: Settings' sources (config.py)
dotenv_settings  # pydantic-settings passes every source by keyword, used or not
file_secret_settings  # same
__getattr__  # module attribute hook: console.stdout / console.stderr made on first use (PEP 562)
inherit_cache  # SQLAlchemy statement caching (db/bulk.py's MySQL insert)
constraint  # on_conflict_do_update/do_nothing keep PostgreSQL's and SQLite's keyword signature (db/bulk.py)
impl  # SQLAlchemy TypeDecorator (db/types.py)
cache_ok  # same
_.load_dialect_impl  # same
_.process_bind_param  # same
_.process_result_value  # same
type_annotation_map  # SQLAlchemy DeclarativeBase: Python type -> column type (db/models.py)
tb  # __exit__(exc_type, exc, tb): the context-manager protocol names all three
_.unbuffered_active  # PyMySQL's result object: read by PyMySQL when the cursor is closed (lists/source.py)
_.handle_request  # httpx.BaseTransport: the sandbox's in-process transport
protocol_version  # http.server.BaseHTTPRequestHandler (sandbox/server.py)
disable_nagle_algorithm  # same
server_version  # same
sys_version  # same
_.close_connection  # same
do_GET  # same: one method per HTTP verb
do_POST  # same
do_PUT  # same
do_DELETE  # same
do_PATCH  # same
_.log_message  # same
daemon_threads  # socketserver.ThreadingMixIn (sandbox/server.py)

# --- database columns and relationships: the schema (migrations/), read by operators and by later code ---------
address_books  # Integration.address_books, Campaign.address_books: relationships (cascade, secondary table)
byte_count  # ContactExport.byte_count: size of each uploaded file
from_address_id  # Campaign.from_address_id
contact_origin_id  # Activity.contact_origin_id: Dotmailer's contact id of the activity row
first_seen_at  # AlertState.first_seen_at
_.last_error  # AlertState.last_error: why the last alert post failed (services/alerts.py writes it)

# --- typed views' fields that only their JSON shows (services/; --json prints every field, console._default) -----
in_query_result  # explain: Membership.in_query_result
first_opened_at  # explain: CampaignStats.first_opened_at
stuck_imports  # status: BookStatus.stuck_imports

# --- Dotmailer payload fields (dotmailer/models.py): the vendor's payload, dumped or stored by name -------------
# ApiCampaignSummary: stored column by column by sync/importer/campaign_summary.py (getattr over FIELDS).
num_unique_opens
num_unique_text_opens
num_text_opens
num_total_opens
num_text_clicks
num_total_page_views
num_text_page_views
num_text_forwards
num_text_estimated_forwards
num_total_estimated_forwards
num_text_replies
num_total_replies
num_hard_bounces
num_text_hard_bounces
num_total_hard_bounces
num_soft_bounces
num_text_soft_bounces
num_total_soft_bounces
num_unsubscribes
num_text_unsubscribes
num_total_unsubscribes
num_isp_complaints
num_text_isp_complaints
num_total_isp_complaints
num_mail_blocks
num_text_mail_blocks
num_total_mail_blocks
num_sent
num_text_sent
num_recipients_clicked
num_delivered
num_text_delivered
num_total_delivered
percentage_delivered
percentage_unique_opens
percentage_opens
percentage_unsubscribes
percentage_replies
percentage_hard_bounces
percentage_soft_bounces
percentage_users_clicked
percentage_clicks_to_opens
revenue
conversion_rate
assisted_revenue
num_orders
num_assisted_orders
# ApiContactImportReport: the import report's counters (reference §7.5, §15), read by
# DotmailerClient.get_contact_import_report below.
new_contacts
updated_contacts
globally_suppressed
invalid_entries
duplicate_emails
blocked
isp_complaints
mail_blocked
domain_suppressed
pending_double_optin
suppressed_contacts
# ApiCampaignContactClick / ApiCampaignContactOpen: the rest of a click's and an open's payload.
user_agent
mail_client
mail_client_version
is_html
is_forward

# --- the client's API beyond what the sync calls: tested against vendor payloads and the sandbox ---------------
_.get_address_book  # GET address-books/{id} (tests/dotmailer/test_client.py)
_.get_contact_import_report  # GET contacts/import/{id}/report (tests/dotmailer, tests/e2e/test_client_vs_sandbox.py)

# --- the sandbox's world-scripting helpers (dotsync/sandbox/README.md), called by tests, the demo and bench ----
_.set_time
_.finish_imports
_.reseed
_.readded_after_optout
_.test_book
_.unsubscribed_emails
_.suppressed_emails
_.change_email
_.set_data_fields
_.record_activity
