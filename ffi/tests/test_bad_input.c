/* Everything a careless or hostile caller can pass: NULL everywhere, invalid UTF-8 and JSON,
 * out-of-range numbers and enum values, unknown ids, wrong states, misaligned pointers. Each
 * must come back as an error code (never an abort), leave outputs untouched, and leave a
 * message in hy_last_error_message(). */
#include <time.h>

#include "test_common.h"

#define SENTINEL32 0xDEADBEEFu

static void test_null_engine_everywhere(void) {
    hy_timestamp t;
    hy_institution_id i;
    hy_patient_id p;
    hy_booking b;
    hy_request q = request_for(0, 0, 0);
    hy_stats s;
    hy_subscription *ev;
    CHECK_RC(hy_engine_now(NULL, &t), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_advance_clock(NULL, 1), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_tick(NULL, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_stats(NULL, &s), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_add_institution(NULL, "x", HY_TIER_TERTIARY, "y", &i), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_register_patient(NULL, &p), HY_NULL_PARAMETER);
    const char *one_number[1] = {"441900199001011234"};
    CHECK_RC(hy_engine_register_patients(NULL, 1, &p, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_register_patients_with_cards(NULL, "resident_id", one_number, 1, &p), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_book(NULL, &q, &b), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_cancel(NULL, 1, &b), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_book_many(NULL, &q, 1, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_subscribe(NULL, &ev), HY_NULL_PARAMETER);
    hy_ticket ticket;
    bool durable;
    char buf[16];
    size_t written;
    CHECK_RC(hy_engine_pipeline_begin(NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_pipeline_end(NULL, &ticket), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_ticket(NULL, &ticket), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_wait_durable(NULL, 1), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_is_durable(NULL, 1, &durable), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_on_durable(NULL, 1, NULL, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_metrics_json(NULL, buf, sizeof buf, &written), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_metrics_prometheus(NULL, buf, sizeof buf, &written), HY_NULL_PARAMETER);
    CHECK(strstr(last_error(), "engine is NULL") != NULL);
    /* Free accepts NULL. */
    hy_engine_free(NULL);
    hy_subscription_free(NULL);
}

static void test_null_arguments_and_outputs(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_institution_id inst = SENTINEL32;
    CHECK_RC(hy_engine_add_institution(r.engine, NULL, HY_TIER_TERTIARY, "d", &inst), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_add_institution(r.engine, "n", HY_TIER_TERTIARY, NULL, &inst), HY_NULL_PARAMETER);
    CHECK(inst == SENTINEL32);
    CHECK_RC(hy_engine_add_institution(r.engine, "n", HY_TIER_TERTIARY, "d", NULL), HY_NULL_PARAMETER);
    /* A NULL output is refused before anything happens: no institution was added. */
    hy_stats s;
    CHECK_OK(hy_engine_stats(r.engine, &s));
    CHECK(s.institutions == 2);
    CHECK_RC(hy_engine_register_patient(r.engine, NULL), HY_NULL_PARAMETER);
    CHECK_OK(hy_engine_stats(r.engine, &s));
    CHECK(s.patients == 0);

    hy_booking b;
    CHECK_RC(hy_engine_book(r.engine, NULL, &b), HY_NULL_PARAMETER);
    hy_request q = request_for(0, 0, r.app);
    CHECK_RC(hy_engine_book(r.engine, &q, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_link_card(r.engine, 0, NULL, "1"), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_find_patient_by_card(r.engine, "a", NULL, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_add_roster(r.engine, NULL, NULL), HY_NULL_PARAMETER);
    hy_slot_id first;
    CHECK_RC(hy_engine_publish_slots(r.engine, NULL, 3, &first), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_find_free_slots(r.engine, NULL, NULL, 0, NULL), HY_NULL_PARAMETER);
    hy_free_slot out[2];
    size_t n;
    CHECK_RC(hy_engine_find_free_slots(r.engine, NULL, out, 2, &n), HY_NULL_PARAMETER);
    hy_referral_request rr;
    memset(&rr, 0, sizeof rr);
    rr.from = r.clinic;
    rr.urgency = HY_URGENCY_ROUTINE;
    rr.valid_days = 10;
    hy_referral ref;
    CHECK_RC(hy_engine_issue_referral(r.engine, &rr, &ref), HY_NULL_PARAMETER); /* specialty */
    CHECK_RC(hy_engine_patient_record_json(r.engine, 0, NULL, 0, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_error_message(HY_OK, NULL, 10, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_last_error_message(NULL, 0, NULL), HY_NULL_PARAMETER);
    hy_engine_free(r.engine);
}

/* The bulk registrations: every bad pointer is refused before anyone is registered, and the
 * outputs stay untouched. */
static void test_register_patients_bad_input(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_patient_id ids[2] = {SENTINEL32, SENTINEL32}, first = SENTINEL32;
    const char *numbers[2] = {"441900199001011234", "441900199001015678"};
    const char *with_null[2] = {"441900199001011234", NULL};
    const char *bad_utf8[2] = {"\x80", "441900199001015678"};
    /* register_patients: both outputs may be NULL; a misaligned one is refused. */
    _Alignas(8) unsigned char raw[3 * sizeof(hy_patient_id) + 8];
    CHECK_RC(hy_engine_register_patients(r.engine, 2, (hy_patient_id *)(raw + 1), NULL), HY_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "aligned") != NULL);
    CHECK_RC(hy_engine_register_patients(r.engine, 2, NULL, (hy_patient_id *)(raw + 1)), HY_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "aligned") != NULL);
    /* register_patients_with_cards: NULL card type, arrays, entries; invalid UTF-8. */
    CHECK_RC(hy_engine_register_patients_with_cards(r.engine, NULL, numbers, 2, ids), HY_NULL_PARAMETER);
    CHECK(strstr(last_error(), "card_type is NULL") != NULL);
    CHECK_RC(hy_engine_register_patients_with_cards(r.engine, "resident_id", NULL, 2, ids), HY_NULL_PARAMETER);
    CHECK(strstr(last_error(), "numbers is NULL") != NULL);
    CHECK_RC(hy_engine_register_patients_with_cards(r.engine, "resident_id", numbers, 2, NULL), HY_NULL_PARAMETER);
    CHECK(strstr(last_error(), "ids_out is NULL") != NULL);
    CHECK_RC(hy_engine_register_patients_with_cards(r.engine, "resident_id", with_null, 2, ids), HY_NULL_PARAMETER);
    CHECK(strstr(last_error(), "numbers[1] is NULL") != NULL);
    CHECK_RC(hy_engine_register_patients_with_cards(r.engine, "resident_id", bad_utf8, 2, ids), HY_INVALID_UTF8);
    CHECK(strstr(last_error(), "numbers[0] is not valid UTF-8") != NULL);
    CHECK_RC(hy_engine_register_patients_with_cards(r.engine, "", numbers, 2, ids), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_register_patients_with_cards(r.engine, "resident_id", numbers, 2, (hy_patient_id *)(raw + 1)), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_register_patients_with_cards(r.engine, "resident_id", numbers, SIZE_MAX, ids), HY_INVALID_ARGUMENT);
    CHECK(ids[0] == SENTINEL32 && ids[1] == SENTINEL32 && first == SENTINEL32);
    hy_patient_id found;
    CHECK_RC(hy_engine_find_patient_by_card(r.engine, "resident_id", numbers[0], &found), HY_NOT_FOUND);
    hy_stats s;
    CHECK_OK(hy_engine_stats(r.engine, &s));
    CHECK(s.patients == 0);
    hy_engine_free(r.engine);
}

static void test_invalid_policy_and_config(void) {
    hy_engine *e = (hy_engine *)0x1;
    CHECK_RC(hy_engine_new("{not json", HY_POLICY_JSON, OFFSET_S, &e), HY_INVALID_POLICY);
    CHECK(e == (hy_engine *)0x1);
    CHECK_RC(hy_engine_new("{\"hold\": {\"ttl_s\": 0}}", HY_POLICY_JSON, OFFSET_S, &e), HY_INVALID_POLICY);
    CHECK(strstr(last_error(), "ttl_s") != NULL);
    CHECK_RC(hy_engine_new("{\"no_such_field\": 1}", HY_POLICY_JSON, OFFSET_S, &e), HY_INVALID_POLICY);
    CHECK_RC(hy_engine_new("[hold\nttl_s = ", HY_POLICY_TOML, OFFSET_S, &e), HY_INVALID_POLICY);
    CHECK_RC(hy_engine_new("{}", 7, OFFSET_S, &e), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_new("{\"hold\": \"\xff\xfe\"}", HY_POLICY_JSON, OFFSET_S, &e), HY_INVALID_UTF8);
    CHECK_RC(hy_engine_new(NULL, HY_POLICY_JSON, 1000000, &e), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_new(NULL, HY_POLICY_JSON, OFFSET_S, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_with_manual_clock(NULL, HY_POLICY_JSON, OFFSET_S, -5, &e), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_with_manual_clock(NULL, HY_POLICY_JSON, OFFSET_S, INT64_MAX, &e), HY_INVALID_ARGUMENT);
    CHECK(e == (hy_engine *)0x1);
}

static void test_invalid_utf8_and_long_strings(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_institution_id inst;
    CHECK_RC(hy_engine_add_institution(r.engine, "Hospital \xc3\x28", HY_TIER_SECONDARY, "d", &inst), HY_INVALID_UTF8);
    CHECK(strstr(last_error(), "UTF-8") != NULL);
    /* Valid UTF-8 (Chinese) is of course fine. */
    CHECK_OK(hy_engine_add_institution(r.engine, "东莞市人民医院", HY_TIER_TERTIARY, "莞城", &inst));
    /* 2 MiB without a terminator inside the limit: refused at the limit, not read further. */
    size_t big = 2u << 20;
    char *s = malloc(big + 1);
    memset(s, 'a', big);
    s[big] = 0;
    hy_result rc = hy_engine_add_institution(r.engine, s, HY_TIER_SECONDARY, "d", &inst);
    free(s);
    CHECK(rc == HY_INVALID_ARGUMENT);
    /* A name over the core's 200-byte limit. */
    char name[300];
    memset(name, 'b', sizeof name - 1);
    name[sizeof name - 1] = 0;
    CHECK_RC(hy_engine_add_institution(r.engine, name, HY_TIER_SECONDARY, "d", &inst), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_link_card(r.engine, 0, "ss", "1"), HY_NOT_FOUND); /* there is never a patient 0 */
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    CHECK_RC(hy_engine_link_card(r.engine, p, "", "1"), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_link_card(r.engine, p, "ss", "\x80"), HY_INVALID_UTF8);
    hy_date d = 77;
    /* The same codes as Rust's Date::parse and Python (found by the conformance scenarios). */
    CHECK_RC(hy_date_parse("2026-02-30", &d), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_date_parse("2300-01-01", &d), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_date_parse("\xff", &d), HY_INVALID_UTF8);
    CHECK(d == 77);
    hy_engine_free(r.engine);
}

static void test_bad_enum_values(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_institution_id inst;
    hy_resource_id res;
    CHECK_RC(hy_engine_add_institution(r.engine, "x", 0, "d", &inst), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_add_institution(r.engine, "x", 99, "d", &inst), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_add_resource(r.engine, r.cardiology, 6, "x", false, &res), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_add_resource(r.engine, r.cardiology, 0xFFFFFFFFu, "x", false, &res), HY_INVALID_ARGUMENT);
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    hy_referral_request rr = {p, r.clinic, "cardiology", HY_NONE, 3, 10};
    hy_referral ref;
    CHECK_RC(hy_engine_issue_referral(r.engine, &rr, &ref), HY_INVALID_ARGUMENT);
    hy_availability_query q;
    memset(&q, 0, sizeof q);
    q.department = q.resource = q.institution = HY_NONE;
    q.tier = 12;
    q.date_from = q.date_to = r.visit_day;
    hy_free_slot out[1];
    size_t n;
    CHECK_RC(hy_engine_find_free_slots(r.engine, &q, out, 1, &n), HY_INVALID_ARGUMENT);
    hy_roster roster;
    memset(&roster, 0, sizeof roster);
    roster.resource = r.dr_li;
    roster.weekdays = 0x80;
    roster.start_min = 480;
    roster.end_min = 600;
    roster.segment_min = 30;
    roster.places = 3;
    roster.valid_from = roster.valid_until = r.visit_day;
    hy_roster_id rid;
    CHECK_RC(hy_engine_add_roster(r.engine, &roster, &rid), HY_INVALID_ARGUMENT);
    roster.weekdays = 0;
    CHECK_RC(hy_engine_add_roster(r.engine, &roster, &rid), HY_INVALID_ARGUMENT);
    hy_engine_free(r.engine);
}

static void test_absurd_numbers(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_spec spec = {r.dr_li, r.visit_day, 480, 510, 0};
    hy_slot_id first = SENTINEL32;
    CHECK_RC(hy_engine_publish_slots(r.engine, &spec, 1, &first), HY_INVALID_ARGUMENT); /* capacity 0 */
    spec.capacity = 60000;
    CHECK_RC(hy_engine_publish_slots(r.engine, &spec, 1, &first), HY_INVALID_ARGUMENT);
    spec.capacity = 5;
    spec.start_min = 600;
    CHECK_RC(hy_engine_publish_slots(r.engine, &spec, 1, &first), HY_INVALID_ARGUMENT); /* start > end */
    spec.start_min = 480;
    spec.end_min = 5000;
    CHECK_RC(hy_engine_publish_slots(r.engine, &spec, 1, &first), HY_INVALID_ARGUMENT);
    spec.end_min = 510;
    spec.date = -3;
    CHECK_RC(hy_engine_publish_slots(r.engine, &spec, 1, &first), HY_INVALID_DATE);
    spec.date = 2000000000;
    CHECK_RC(hy_engine_publish_slots(r.engine, &spec, 1, &first), HY_INVALID_DATE);
    spec.date = r.visit_day;
    spec.resource = 999999;
    CHECK_RC(hy_engine_publish_slots(r.engine, &spec, 1, &first), HY_NOT_FOUND);
    /* A length past HY_ARRAY_MAX is refused before the pointer is read. */
    CHECK_RC(hy_engine_publish_slots(r.engine, &spec, (size_t)-1, &first), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_book_many(r.engine, NULL, SIZE_MAX / 2, NULL), HY_INVALID_ARGUMENT);
    CHECK(first == SENTINEL32);
    /* All or nothing: one bad spec in a batch publishes none. */
    hy_slot_spec two[2] = {{r.dr_li, r.visit_day, 480, 510, 5}, {r.dr_li, r.visit_day, 510, 540, 0}};
    CHECK_RC(hy_engine_publish_slots(r.engine, two, 2, &first), HY_INVALID_ARGUMENT);
    hy_stats s;
    CHECK_OK(hy_engine_stats(r.engine, &s));
    CHECK(s.slots == 0);

    CHECK_RC(hy_engine_advance_clock(r.engine, -1), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_advance_clock(r.engine, INT64_MAX), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_advance_to(r.engine, INT64_MIN), HY_INVALID_ARGUMENT);
    hy_timestamp t;
    CHECK_RC(hy_timestamp_from_local(r.visit_day, 5000, OFFSET_S, &t), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_timestamp_from_local(INT32_MIN, 0, OFFSET_S, &t), HY_INVALID_DATE);
    hy_date d;
    CHECK_RC(hy_date_from_ymd(INT32_MAX, 13, 40, &d), HY_INVALID_DATE);

    hy_availability_query q;
    memset(&q, 0, sizeof q);
    q.department = r.cardiology;
    q.resource = q.institution = HY_NONE;
    q.date_from = r.visit_day;
    q.date_to = r.visit_day + 5000;
    hy_free_slot out[1];
    size_t n = 12345;
    CHECK_RC(hy_engine_find_free_slots(r.engine, &q, out, 1, &n), HY_INVALID_ARGUMENT);
    q.date_to = r.visit_day;
    CHECK_RC(hy_engine_find_free_slots(r.engine, &q, out, 0, &n), HY_INVALID_ARGUMENT);
    q.time_start_min = 900;
    q.time_end_min = 800;
    CHECK_RC(hy_engine_find_free_slots(r.engine, &q, out, 1, &n), HY_INVALID_ARGUMENT);
    CHECK(n == 12345);
    hy_day_availability days[2];
    CHECK_RC(hy_engine_free_places_by_day(r.engine, r.cardiology, r.today, r.today + 5, days, 2, &n), HY_BUFFER_TOO_SMALL);
    CHECK(n == 6);

    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    CHECK(region_publish(&r, r.dr_li, 1, 1, &first));
    hy_request req = request_for(p, first, r.app);
    hy_booking b;
    CHECK_RC(hy_engine_hold_for(r.engine, &req, 0, &b), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_hold_for(r.engine, &req, 0xFFFFFFFFu, &b), HY_INVALID_ARGUMENT);
    hy_engine_free(r.engine);
}

/* The load board: NULL engine, names, outputs; unknown specialty or district; bad UTF-8. */
static void test_load_board_bad_input(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_board_row rows[2];
    size_t n = 12345;
    CHECK_RC(hy_engine_load_board(NULL, "cardiology", "Guancheng", rows, 2, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_load_board(r.engine, NULL, "Guancheng", rows, 2, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_load_board(r.engine, "cardiology", NULL, rows, 2, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_load_board(r.engine, "cardiology", "Guancheng", NULL, 2, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_load_board(r.engine, "cardiology", "Guancheng", rows, 2, NULL), HY_NULL_PARAMETER);
    CHECK(n == 12345); /* outputs written only on success */
    CHECK_RC(hy_engine_load_board(r.engine, "astrology", "Guancheng", rows, 2, &n), HY_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "unknown specialty") != NULL);
    CHECK_RC(hy_engine_load_board(r.engine, "cardiology", "Atlantis", rows, 2, &n), HY_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "unknown district") != NULL);
    CHECK_RC(hy_engine_load_board(r.engine, "cardi\xff", "Guancheng", rows, 2, &n), HY_INVALID_UTF8);
    CHECK(n == 12345);
    CHECK_OK(hy_engine_load_board(r.engine, "cardiology", "Guancheng", rows, 2, &n));
    CHECK(n == 2);
    hy_engine_free(r.engine);
}

/* Recommendations: NULLs, both or neither of complaint and specialty, unknown names, bad
 * UTF-8, a bad complaint table (the old one is kept), a referral without its patient. */
static void test_recommend_bad_input(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_recommend_query q;
    memset(&q, 0, sizeof q);
    q.specialty = "cardiology";
    q.district = "Guancheng";
    q.patient = HY_NONE;
    q.date_from = r.visit_day;
    q.date_to = r.visit_day;
    hy_recommendation rows[2];
    size_t n = 12345;
    CHECK_RC(hy_engine_recommend(NULL, &q, rows, 2, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_recommend(r.engine, NULL, rows, 2, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_recommend(r.engine, &q, NULL, 2, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_recommend(r.engine, &q, rows, 2, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_recommend(r.engine, &q, rows, 0, &n), HY_INVALID_ARGUMENT);
    CHECK(n == 12345); /* outputs written only on success */
    q.district = NULL;
    CHECK_RC(hy_engine_recommend(r.engine, &q, rows, 2, &n), HY_NULL_PARAMETER);
    q.district = "Atlantis";
    CHECK_RC(hy_engine_recommend(r.engine, &q, rows, 2, &n), HY_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "unknown district") != NULL);
    q.district = "Guancheng";
    q.complaint = "cough";
    CHECK_RC(hy_engine_recommend(r.engine, &q, rows, 2, &n), HY_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "not both") != NULL);
    q.specialty = NULL;
    q.complaint = "cardi\xff";
    CHECK_RC(hy_engine_recommend(r.engine, &q, rows, 2, &n), HY_INVALID_UTF8);
    q.complaint = NULL;
    CHECK_RC(hy_engine_recommend(r.engine, &q, rows, 2, &n), HY_INVALID_ARGUMENT);
    q.specialty = "astrology";
    CHECK_RC(hy_engine_recommend(r.engine, &q, rows, 2, &n), HY_INVALID_ARGUMENT);
    q.specialty = "cardiology";
    q.referral = 1;
    CHECK_RC(hy_engine_recommend(r.engine, &q, rows, 2, &n), HY_INVALID_ARGUMENT);
    q.referral = 0;
    q.patient = 999999;
    CHECK_RC(hy_engine_recommend(r.engine, &q, rows, 2, &n), HY_NOT_FOUND);
    q.patient = HY_NONE;
    q.date_to = r.visit_day + 40;
    CHECK_RC(hy_engine_recommend(r.engine, &q, rows, 2, &n), HY_INVALID_ARGUMENT);
    CHECK(n == 12345);
    CHECK_RC(hy_engine_set_complaint_table(NULL, "{}"), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_set_complaint_table(r.engine, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_set_complaint_table(r.engine, "{\"complaints\": []}"), HY_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "complaint table") != NULL);
    CHECK_RC(hy_engine_set_complaint_table(r.engine, "{\xff}"), HY_INVALID_UTF8);
    /* The bundled table is still in place: chest pain matches cardiology (no doctor: no rows). */
    q.date_to = r.visit_day;
    q.specialty = NULL;
    q.complaint = "chest pain";
    CHECK_OK(hy_engine_recommend(r.engine, &q, rows, 2, &n));
    CHECK(n == 0);
    hy_engine_free(r.engine);
}

static void test_unknown_ids(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 2, &slot));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    hy_booking b;
    memset(&b, 0xAB, sizeof b);
    hy_booking before = b;
    hy_request q = request_for(p, 999999, r.app);
    CHECK_RC(hy_engine_book(r.engine, &q, &b), HY_NOT_FOUND);
    q = request_for(777777, slot, r.app);
    CHECK_RC(hy_engine_book(r.engine, &q, &b), HY_NOT_FOUND);
    q = request_for(p, slot, 9999);
    CHECK_RC(hy_engine_book(r.engine, &q, &b), HY_NOT_FOUND);
    q = request_for(p, slot, r.app);
    q.referral = 55555;
    CHECK_RC(hy_engine_book(r.engine, &q, &b), HY_REFERRAL_INVALID);
    CHECK_RC(hy_engine_confirm(r.engine, 0, &b), HY_NOT_FOUND);
    CHECK_RC(hy_engine_cancel(r.engine, UINT64_MAX, &b), HY_NOT_FOUND);
    CHECK_RC(hy_engine_booking(r.engine, 123456789, &b), HY_NOT_FOUND);
    CHECK(memcmp(&b, &before, sizeof b) == 0);
    hy_slot_info info;
    CHECK_RC(hy_engine_slot(r.engine, 4000000000u, &info), HY_NOT_FOUND);
    hy_department_id dep;
    CHECK_RC(hy_engine_add_department(r.engine, 424242, "x", "y", &dep), HY_NOT_FOUND);
    CHECK_RC(hy_engine_merge_patients(r.engine, p, 999), HY_NOT_FOUND);
    CHECK_RC(hy_engine_leave_waitlist(r.engine, 0), HY_NOT_FOUND);
    CHECK_RC(hy_engine_leave_waitlist(r.engine, 31337), HY_NOT_FOUND);
    hy_channel_id ch;
    CHECK_RC(hy_engine_channel_id(r.engine, "carrier pigeon", &ch), HY_INVALID_ARGUMENT);
    char json[64];
    size_t n;
    CHECK_RC(hy_engine_patient_record_json(r.engine, 5555, json, sizeof json, &n), HY_NOT_FOUND);
    CHECK(strlen(last_error()) > 0);
    hy_engine_free(r.engine);
}

static void test_wrong_states(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 2, &slot));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    hy_request q = request_for(p, slot, r.app);
    hy_booking held, b;
    CHECK_OK(hy_engine_hold(r.engine, &q, &held));
    CHECK_RC(hy_engine_check_in(r.engine, held.id, &b), HY_WRONG_STATE);
    CHECK(strstr(last_error(), "held") != NULL);
    CHECK_RC(hy_engine_fulfil(r.engine, held.id, &b), HY_WRONG_STATE);
    CHECK_RC(hy_engine_mark_no_show(r.engine, held.id, &b), HY_WRONG_STATE);
    CHECK_OK(hy_engine_cancel(r.engine, held.id, &b));
    CHECK_RC(hy_engine_cancel(r.engine, held.id, &b), HY_WRONG_STATE);
    CHECK_RC(hy_engine_confirm(r.engine, held.id, &b), HY_WRONG_STATE);
    hy_engine_free(r.engine);
}

static void test_hold_expired_on_confirm(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 2, &slot));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    hy_request q = request_for(p, slot, r.app);
    hy_booking held, b;
    CHECK_OK(hy_engine_hold_for(r.engine, &q, 60, &held));
    /* The manual clock ticks on every advance, so the hold is expired (not held) by now; it
     * still answers HY_HOLD_EXPIRED, not HY_WRONG_STATE. */
    CHECK_OK(hy_engine_advance_clock(r.engine, 61));
    CHECK_RC(hy_engine_confirm(r.engine, held.id, &b), HY_HOLD_EXPIRED);
    CHECK_RC(hy_engine_cancel(r.engine, held.id, &b), HY_HOLD_EXPIRED);
    CHECK_OK(hy_engine_booking(r.engine, held.id, &b));
    CHECK(b.state == HY_BOOKING_EXPIRED);
    hy_engine_free(r.engine);
}

static void test_misaligned_pointers(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    _Alignas(8) unsigned char raw[2 * sizeof(hy_request) + 8];
    memset(raw, 0, sizeof raw);
    hy_request *bad = (hy_request *)(raw + 1);
    hy_booking b;
    CHECK_RC(hy_engine_book(r.engine, bad, &b), HY_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "aligned") != NULL);
    _Alignas(8) unsigned char out[sizeof(hy_booking) + 8];
    hy_request q = request_for(0, 0, r.app);
    CHECK_RC(hy_engine_book(r.engine, &q, (hy_booking *)(out + 4)), HY_INVALID_ARGUMENT);
    hy_engine_free(r.engine);
}

static void test_error_message_buffers(void) {
    hy_engine *e = NULL;
    CHECK_RC(hy_engine_new("{", HY_POLICY_JSON, OFFSET_S, &e), HY_INVALID_POLICY);
    char tiny[4];
    size_t n = 99;
    CHECK_OK(hy_last_error_message(tiny, sizeof tiny, &n));
    CHECK(n == 3 && tiny[3] == 0);
    CHECK_OK(hy_last_error_message(NULL, 0, &n));
    CHECK(n == 0);
    char full[512];
    CHECK_OK(hy_last_error_message(full, sizeof full, &n));
    CHECK(strncmp(full, "invalid policy", 14) == 0 && n == strlen(full));
}

/* UTC offsets (issue 12): beyond ±14 h is HY_INVALID_ARGUMENT at every entry point, checked
 * once in the core; INT32_MIN used to reach `i32::abs`, which overflows. */
static const int32_t bad_offsets[] = {INT32_MIN, INT32_MIN + 1, -(14 * 3600 + 1), 14 * 3600 + 1, INT32_MAX};
static const int32_t good_offsets[] = {-14 * 3600, 0, 14 * 3600};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Before the fix: INT32_MIN panicked inside (HY_PANIC, `i32::abs` overflow in a debug build; in a
 * release build it wrapped and the engine was created). */
static void test_utc_offsets_hy_engine_new(void) {
    for (size_t i = 0; i < COUNT(bad_offsets); i++) {
        hy_engine *e = (hy_engine *)0x1;
        CHECK_RC(hy_engine_new(NULL, HY_POLICY_JSON, bad_offsets[i], &e), HY_INVALID_ARGUMENT);
        CHECK(e == (hy_engine *)0x1);
    }
    for (size_t i = 0; i < COUNT(good_offsets); i++) {
        hy_engine *e = NULL;
        CHECK_OK(hy_engine_new(NULL, HY_POLICY_JSON, good_offsets[i], &e));
        hy_engine_free(e);
    }
}

/* Before the fix: as hy_engine_new. */
static void test_utc_offsets_hy_engine_with_manual_clock(void) {
    for (size_t i = 0; i < COUNT(bad_offsets); i++) {
        hy_engine *e = (hy_engine *)0x1;
        CHECK_RC(hy_engine_with_manual_clock(NULL, HY_POLICY_JSON, bad_offsets[i], 1795939200, &e), HY_INVALID_ARGUMENT);
        CHECK(e == (hy_engine *)0x1);
    }
    for (size_t i = 0; i < COUNT(good_offsets); i++) {
        hy_engine *e = NULL;
        CHECK_OK(hy_engine_with_manual_clock(NULL, HY_POLICY_JSON, good_offsets[i], 1795939200, &e));
        hy_engine_free(e);
    }
}

/* Before the fix: INT32_MIN panicked (`i32::abs`), HY_PANIC instead of HY_INVALID_ARGUMENT. */
static void test_utc_offsets_hy_timestamp_from_local(void) {
    for (size_t i = 0; i < COUNT(bad_offsets); i++) {
        hy_timestamp t = 42;
        CHECK_RC(hy_timestamp_from_local(20000, 600, bad_offsets[i], &t), HY_INVALID_ARGUMENT);
        CHECK(t == 42);
    }
    for (size_t i = 0; i < COUNT(good_offsets); i++) {
        hy_timestamp t = 0;
        CHECK_OK(hy_timestamp_from_local(20000, 600, good_offsets[i], &t));
        CHECK(t == 20000LL * 86400 + 600 * 60 - good_offsets[i]);
    }
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

/* Found by the audit of every mutating call (issue 12): hy_engine_tick checked `expired_out`
 * after expiring the holds, so a misaligned output came back as HY_INVALID_ARGUMENT with the
 * holds already expired and their places returned. */
static void test_tick_refused_output_expires_nothing(void) {
    hy_engine *e = NULL;
    CHECK_OK(hy_engine_new(NULL, HY_POLICY_JSON, OFFSET_S, &e));
    hy_timestamp now;
    CHECK_OK(hy_engine_now(e, &now));
    hy_date today = (hy_date)((now + OFFSET_S) / 86400);
    hy_institution_id inst;
    hy_department_id dep;
    hy_resource_id res;
    hy_channel_id app;
    CHECK_OK(hy_engine_add_institution(e, "Xiamen Maternity", HY_TIER_SECONDARY, "Siming", &inst));
    CHECK_OK(hy_engine_add_department(e, inst, "obstetrics", "Obstetrics", &dep));
    CHECK_OK(hy_engine_add_resource(e, dep, HY_RESOURCE_BED, "Delivery beds", false, &res));
    CHECK_OK(hy_engine_channel_id(e, "app", &app));
    hy_slot_spec spec = {res, today + 2, 0, 1440, 2};
    hy_slot_id slot;
    CHECK_OK(hy_engine_publish_slots(e, &spec, 1, &slot));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(e, &p));
    hy_request q = request_for(p, slot, app);
    hy_booking held;
    CHECK_OK(hy_engine_hold_for(e, &q, 1, &held));
    sleep_ms(1200); /* the system clock passes the 1-second hold; nothing has ticked */
    CHECK_RC(hy_engine_tick(e, MISALIGNED_SIZE_T), HY_INVALID_ARGUMENT);
    CHECK(slot_taken(e, slot) == 1); /* the tick did not run */
    size_t expired = 0;
    CHECK_OK(hy_engine_tick(e, &expired));
    CHECK(expired == 1 && slot_taken(e, slot) == 0);
    hy_engine_free(e);
}

static int message_is(const char *expected) {
    char now[1024];
    size_t n = 0;
    if (hy_last_error_message(now, sizeof now, &n) != HY_OK) return 0;
    return strcmp(now, expected) == 0 && n == strlen(expected);
}

/* Issue 12: hy_last_error_message(buf, len, NULL) replaced the message with "written is NULL"
 * (so did a NULL buf or a misaligned `written`), though the header promises the call never
 * changes it. */
static void test_last_error_message_never_changes_the_message(void) {
    hy_engine *e = NULL;
    CHECK_RC(hy_engine_new("{", HY_POLICY_JSON, OFFSET_S, &e), HY_INVALID_POLICY);
    char original[1024];
    size_t n = 0;
    CHECK_OK(hy_last_error_message(original, sizeof original, &n));
    CHECK(n > 0 && strncmp(original, "invalid policy", 14) == 0);
    char buf[64];
    CHECK_RC(hy_last_error_message(buf, sizeof buf, NULL), HY_NULL_PARAMETER);
    CHECK(message_is(original));
    CHECK_RC(hy_last_error_message(NULL, 0, NULL), HY_NULL_PARAMETER);
    CHECK(message_is(original));
    CHECK_RC(hy_last_error_message(NULL, 10, &n), HY_NULL_PARAMETER);
    CHECK(message_is(original));
    CHECK_RC(hy_last_error_message(buf, sizeof buf, MISALIGNED_SIZE_T), HY_INVALID_ARGUMENT);
    CHECK(message_is(original));
    char tiny[4];
    CHECK_OK(hy_last_error_message(tiny, sizeof tiny, &n)); /* truncated */
    CHECK(n == 3 && message_is(original));
    CHECK_OK(hy_last_error_message(NULL, 0, &n)); /* nothing fits */
    CHECK(n == 0 && message_is(original));
}

TEST_MAIN_BEGIN
    RUN(test_null_engine_everywhere);
    RUN(test_null_arguments_and_outputs);
    RUN(test_register_patients_bad_input);
    RUN(test_invalid_policy_and_config);
    RUN(test_invalid_utf8_and_long_strings);
    RUN(test_bad_enum_values);
    RUN(test_absurd_numbers);
    RUN(test_load_board_bad_input);
    RUN(test_recommend_bad_input);
    RUN(test_unknown_ids);
    RUN(test_wrong_states);
    RUN(test_hold_expired_on_confirm);
    RUN(test_misaligned_pointers);
    RUN(test_error_message_buffers);
    RUN(test_last_error_message_never_changes_the_message);
    RUN(test_tick_refused_output_expires_nothing);
    RUN(test_utc_offsets_hy_engine_new);
    RUN(test_utc_offsets_hy_engine_with_manual_clock);
    RUN(test_utc_offsets_hy_timestamp_from_local);
TEST_MAIN_END
