/* The C API on its happy paths: one test_x() per case (the regex-capi ctest pattern). Each
 * test builds its own engine and frees it, so valgrind's leak check covers every path. */
#include <time.h>

#include "test_common.h"

static void test_version_matches_header(void) {
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", HY_VERSION_MAJOR, HY_VERSION_MINOR, HY_VERSION_PATCH);
    CHECK(strcmp(hy_version(), expected) == 0);
    CHECK(strcmp(hy_version(), HY_VERSION) == 0);
}

static void test_error_messages(void) {
    char buf[128];
    size_t n = 0;
    CHECK_OK(hy_error_message(HY_SLOT_FULL, buf, sizeof buf, &n));
    CHECK(n == strlen(buf) && strstr(buf, "free place") != NULL);
    CHECK_OK(hy_error_message(999, buf, sizeof buf, &n));
    CHECK(strcmp(buf, "unknown result code") == 0);
    /* Truncated to fit, still NUL-terminated. */
    CHECK_OK(hy_error_message(HY_NULL_PARAMETER, buf, 5, &n));
    CHECK(n == 4 && strcmp(buf, "a re") == 0);
    /* The domain codes are the core's stable numbers. */
    CHECK(HY_INVALID_ARGUMENT == 10 && HY_SLOT_FULL == 16 && HY_DURABILITY == 28);
}

static void test_dates(void) {
    hy_date d, e;
    CHECK_OK(hy_date_from_ymd(1970, 1, 2, &d));
    CHECK(d == 1);
    CHECK_OK(hy_date_parse("2026-11-25", &e));
    CHECK_OK(hy_date_from_ymd(2026, 11, 25, &d));
    CHECK(d == e);
    hy_timestamp t;
    CHECK_OK(hy_timestamp_from_local(1, 60, 3600, &t));
    CHECK(t == 86400);
}

static void test_registry_and_stats(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_channel_id kiosk, added, again;
    CHECK_OK(hy_engine_channel_id(r.engine, "kiosk", &kiosk));
    CHECK_OK(hy_engine_add_channel(r.engine, "alipay", &added));
    CHECK_OK(hy_engine_add_channel(r.engine, "alipay", &again));
    CHECK(added == again && added != kiosk);
    hy_stats s;
    CHECK_OK(hy_engine_stats(r.engine, &s));
    CHECK(s.institutions == 2 && s.departments == 2 && s.resources == 1 && s.slots == 0);
    CHECK(s.last_event_seq > 0);
    hy_engine_free(r.engine);
}

static void test_publish_and_query(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id first;
    CHECK(region_publish(&r, r.dr_li, 4, 10, &first));
    hy_slot_info info;
    CHECK_OK(hy_engine_slot(r.engine, first + 3, &info));
    CHECK(info.capacity == 10 && info.date == r.visit_day && info.start_min == 9 * 60 + 30);
    /* A tertiary hospital reserves 30% for referrals. */
    CHECK(info.pool_places[HY_POOL_REFERRAL] == 3 && info.pool_places[HY_POOL_GENERAL] == 7);

    hy_availability_query q;
    memset(&q, 0, sizeof q);
    q.department = r.cardiology;
    q.resource = HY_NONE;
    q.institution = HY_NONE;
    q.date_from = r.visit_day;
    q.date_to = r.visit_day;
    hy_free_slot out[8];
    size_t n = 0;
    CHECK_OK(hy_engine_find_free_slots(r.engine, &q, out, 8, &n));
    CHECK(n == 4);
    /* After the public release, unused referral places roll into the general pool. */
    CHECK(out[0].slot == first && out[0].free == 10 && out[0].institution == r.hospital);
    CHECK(out[1].starts_at > out[0].starts_at);
    /* The output array bounds the results. */
    CHECK_OK(hy_engine_find_free_slots(r.engine, &q, out, 2, &n));
    CHECK(n == 2);
    /* Filters: morning 08:00-09:00 only. */
    q.time_start_min = 8 * 60;
    q.time_end_min = 9 * 60;
    CHECK_OK(hy_engine_find_free_slots(r.engine, &q, out, 8, &n));
    CHECK(n == 2);

    hy_day_availability days[3];
    CHECK_OK(hy_engine_free_places_by_day(r.engine, r.cardiology, r.today, r.visit_day, days, 3, &n));
    CHECK(n == 3 && days[2].date == r.visit_day && days[2].places == 40 && days[2].free == 40 && days[0].places == 0);
    hy_engine_free(r.engine);
}

/* hy_engine_set_policy: from now on, never retroactive; a refused change changes nothing. */
static void test_set_policy(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id first = 0;
    CHECK(region_publish(&r, r.dr_li, 1, 10, &first));
    CHECK_OK(hy_engine_set_policy(r.engine, "{\"referral\": {\"share\": 0.5}}", HY_POLICY_JSON));
    char json[4096];
    size_t n = 0;
    CHECK_OK(hy_engine_policy_json(r.engine, json, sizeof json, &n));
    CHECK(n == strlen(json) && strstr(json, "\"share\":0.5") != NULL);
    hy_slot_info info;
    CHECK_OK(hy_engine_slot(r.engine, first, &info));
    CHECK(info.pool_places[HY_POOL_REFERRAL] == 3); /* published before: kept */
    hy_stats before, after;
    CHECK_OK(hy_engine_stats(r.engine, &before));
    CHECK_RC(hy_engine_set_policy(r.engine, NULL, HY_POLICY_JSON), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_set_policy(r.engine, "{\"referral\": {\"share\": 1.5}}", HY_POLICY_JSON), HY_INVALID_POLICY);
    CHECK_RC(hy_engine_set_policy(r.engine, "referral = [", HY_POLICY_TOML), HY_INVALID_POLICY);
    CHECK_RC(hy_engine_set_policy(r.engine, "{}", (hy_policy_format)7), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_set_policy(NULL, "{}", HY_POLICY_JSON), HY_NULL_PARAMETER);
    CHECK_OK(hy_engine_stats(r.engine, &after));
    CHECK(after.last_event_seq == before.last_event_seq);
    CHECK_OK(hy_engine_policy_json(r.engine, json, sizeof json, &n));
    CHECK(strstr(json, "\"share\":0.5") != NULL);
    char small[8];
    size_t need = 0;
    CHECK_RC(hy_engine_policy_json(r.engine, small, sizeof small, &need), HY_BUFFER_TOO_SMALL);
    CHECK(need == n + 1); /* the NUL too */
    CHECK_RC(hy_engine_policy_json(r.engine, json, sizeof json, NULL), HY_NULL_PARAMETER);
    hy_engine_free(r.engine);
}

/* hy_engine_execute_json: a retry with the same request key returns the first outcome and
 * books nothing more; bad input is refused before anything happens. */
static void test_execute_with_request_key(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id first = 0;
    CHECK(region_publish(&r, r.dr_li, 1, 5, &first));
    hy_patient_id p = 0;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    char command[256];
    snprintf(command, sizeof command,
             "{\"command\": \"book\", \"request\": {\"patient\": %u, \"slot\": %u, \"channel\": %u}}",
             (unsigned)p, (unsigned)first, (unsigned)r.app);
    char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    CHECK_OK(hy_engine_execute_json(r.engine, "his-42", command, &a, &alen));
    CHECK(alen == strlen(a) && strstr(a, "\"outcome\":\"booking\"") != NULL);
    hy_stats before, after;
    CHECK_OK(hy_engine_stats(r.engine, &before));
    CHECK_OK(hy_engine_execute_json(r.engine, "his-42", command, &b, &blen));
    CHECK(strcmp(a, b) == 0); /* the first outcome, as it was */
    CHECK_OK(hy_engine_stats(r.engine, &after));
    CHECK(after.last_event_seq == before.last_event_seq); /* a retry records nothing */
    hy_string_free(a);
    hy_string_free(b);
    hy_slot_info info;
    CHECK_OK(hy_engine_slot(r.engine, first, &info));
    CHECK(info.pool_taken[HY_POOL_GENERAL] == 1);
    char *out = NULL;
    size_t len = 0;
    CHECK_RC(hy_engine_execute_json(r.engine, "", command, &out, &len), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_execute_json(r.engine, "k", "{\"command\": \"fly\"}", &out, &len), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_execute_json(r.engine, "k", "not json", &out, &len), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_execute_json(r.engine, "k", NULL, &out, &len), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_execute_json(r.engine, "k", command, NULL, &len), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_execute_json(r.engine, "k", command, &out, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_execute_json(NULL, "k", command, &out, &len), HY_NULL_PARAMETER);
    CHECK(out == NULL);
    CHECK_OK(hy_engine_stats(r.engine, &after));
    CHECK(after.last_event_seq == before.last_event_seq); /* refused calls changed nothing */
    /* No key: the command acts (a second place for another patient). */
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    snprintf(command, sizeof command,
             "{\"command\": \"book\", \"request\": {\"patient\": %u, \"slot\": %u, \"channel\": %u}}",
             (unsigned)p, (unsigned)first, (unsigned)r.app);
    CHECK_OK(hy_engine_execute_json(r.engine, NULL, command, &out, &len));
    hy_string_free(out);
    CHECK_OK(hy_engine_slot(r.engine, first, &info));
    CHECK(info.pool_taken[HY_POOL_GENERAL] == 2);
    hy_engine_free(r.engine);
}

/* Booking groups: a three-night bed stay through hy_engine_execute_json, all or nothing, found
 * by hy_engine_find_stays_json, read back by hy_engine_booking_group_json, then moved. */
static void test_booking_groups(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_department_id ward;
    hy_resource_id beds;
    CHECK_OK(hy_engine_add_department(r.engine, r.hospital, "obstetrics", "Obstetric ward", &ward));
    CHECK_OK(hy_engine_add_resource(r.engine, ward, HY_RESOURCE_BED, "Delivery beds", false, &beds));
    hy_slot_spec nights[4];
    for (int i = 0; i < 4; i++) {
        nights[i].resource = beds;
        nights[i].date = r.visit_day + i;
        nights[i].start_min = 20 * 60;
        nights[i].end_min = 20 * 60 + 1;
        nights[i].capacity = 1;
    }
    hy_slot_id first = 0;
    CHECK_OK(hy_engine_publish_slots(r.engine, nights, 4, &first));
    hy_patient_id mother = 0, other = 0;
    CHECK_OK(hy_engine_register_patient(r.engine, &mother));
    CHECK_OK(hy_engine_register_patient(r.engine, &other));

    char query[256], command[256];
    snprintf(query, sizeof query,
             "{\"specialty\": \"obstetrics\", \"district\": \"Guancheng\", \"first_night\": %d, \"nights\": 3, \"flex_days\": 1, \"limit\": 5}",
             (int)r.visit_day);
    char *out = NULL;
    size_t len = 0;
    CHECK_OK(hy_engine_find_stays_json(r.engine, query, &out, &len));
    CHECK(strstr(out, "\"same_district\":true") != NULL && len == strlen(out));
    hy_string_free(out);

    /* The third night taken by another patient: the stay fails whole, and nothing changes. */
    hy_booking b;
    hy_request q = request_for(other, first + 2, r.app);
    CHECK_OK(hy_engine_book(r.engine, &q, &b));
    hy_stats before, after;
    CHECK_OK(hy_engine_stats(r.engine, &before));
    snprintf(command, sizeof command,
             "{\"command\": \"book_group\", \"request\": {\"patient\": %u, \"channel\": %u, \"slots\": [%u, %u, %u]}}",
             (unsigned)mother, (unsigned)r.app, (unsigned)first, (unsigned)(first + 1), (unsigned)(first + 2));
    CHECK_RC(hy_engine_execute_json(r.engine, NULL, command, &out, &len), HY_SLOT_FULL);
    CHECK_OK(hy_engine_stats(r.engine, &after));
    CHECK(after.last_event_seq == before.last_event_seq);
    hy_slot_info info;
    CHECK_OK(hy_engine_slot(r.engine, first, &info));
    CHECK(info.pool_taken[HY_POOL_GENERAL] == 0);
    /* Freed: the stay books, as one group. */
    CHECK_OK(hy_engine_cancel(r.engine, b.id, &b));
    CHECK_OK(hy_engine_execute_json(r.engine, "stay-1", command, &out, &len));
    CHECK(strstr(out, "\"outcome\":\"group\"") != NULL);
    hy_string_free(out);
    hy_booking_id lead = ((hy_booking_id)mother << 32) | 0;
    CHECK_OK(hy_engine_booking_group_json(r.engine, lead + 2, &out, &len));
    CHECK(strstr(out, "\"bookings\":[") != NULL && strstr(out, "\"replaces\":null") != NULL);
    hy_string_free(out);
    CHECK_RC(hy_engine_booking_group_json(r.engine, b.id, &out, &len), HY_NOT_FOUND);
    /* Moved one night later: the shared nights keep their places, the first is freed. */
    snprintf(command, sizeof command,
             "{\"command\": \"reschedule\", \"request\": {\"booking\": %llu, \"channel\": %u, \"slots\": [%u, %u, %u]}}",
             (unsigned long long)lead, (unsigned)r.app, (unsigned)(first + 1), (unsigned)(first + 2), (unsigned)(first + 3));
    CHECK_OK(hy_engine_execute_json(r.engine, NULL, command, &out, &len));
    CHECK(strstr(out, "\"replaces\":") != NULL);
    hy_string_free(out);
    CHECK_OK(hy_engine_slot(r.engine, first, &info));
    CHECK(info.pool_taken[HY_POOL_GENERAL] == 0);
    CHECK_OK(hy_engine_slot(r.engine, first + 3, &info));
    CHECK(info.pool_taken[HY_POOL_GENERAL] == 1);
    /* Bad input: typed errors, nothing changes. */
    out = NULL;
    CHECK_RC(hy_engine_find_stays_json(r.engine, "{\"specialty\": \"obstetrics\"}", &out, &len), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_find_stays_json(r.engine, NULL, &out, &len), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_find_stays_json(r.engine, query, NULL, &len), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_booking_group_json(NULL, lead, &out, &len), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_booking_group_json(r.engine, lead, &out, NULL), HY_NULL_PARAMETER);
    CHECK(out == NULL);
    hy_engine_free(r.engine);
}

static void test_calibrate_overbooking(void) {
    region r;
    CHECK(region_open(&r, "{\"overbooking\": {\"spread\": \"session\"}}", HY_POLICY_JSON));
    hy_slot_id first;
    CHECK(region_publish(&r, r.dr_li, 1, 4, &first));
    hy_booking b[4];
    for (int i = 0; i < 4; i++) {
        hy_patient_id p;
        CHECK_OK(hy_engine_register_patient(r.engine, &p));
        hy_request q = request_for(p, first, r.app);
        CHECK_OK(hy_engine_book(r.engine, &q, &b[i]));
    }
    hy_timestamp noon;
    CHECK_OK(hy_timestamp_from_local(r.visit_day, 12 * 60, OFFSET_S, &noon));
    CHECK_OK(hy_engine_advance_to(r.engine, noon));
    hy_booking after;
    for (int i = 0; i < 4; i++) {
        if (i % 2 == 0) {
            CHECK_OK(hy_engine_mark_no_show(r.engine, b[i].id, &after));
        } else {
            CHECK_OK(hy_engine_check_in(r.engine, b[i].id, &after));
        }
    }
    /* Half of Dr Li's patients missed: extra places within a 20% overflow risk. */
    char *out = NULL;
    size_t len = 0;
    const char *calibration = "{\"overflow_risk\": 0.2, \"min_outcomes\": 4, \"max_ratio\": 1}";
    CHECK_OK(hy_engine_calibrate_overbooking_json(r.engine, calibration, &out, &len));
    CHECK(len == strlen(out) && strstr(out, "\"no_show_rate\":0.5") != NULL);
    CHECK(strstr(out, "\"policy_changed\":true") != NULL && strstr(out, "\"extra\":0") == NULL);
    hy_string_free(out);
    /* All defaults (NULL): 4 outcomes are fewer than 50, nothing changes. */
    CHECK_OK(hy_engine_calibrate_overbooking_json(r.engine, NULL, &out, &len));
    CHECK(strstr(out, "\"skipped\":1") != NULL && strstr(out, "\"policy_changed\":false") != NULL);
    hy_string_free(out);
    /* Bad input: typed errors, nothing written. */
    out = NULL;
    CHECK_RC(hy_engine_calibrate_overbooking_json(r.engine, "{\"overflow_risk\": 0}", &out, &len), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_calibrate_overbooking_json(r.engine, "{\"risk\": 0.1}", &out, &len), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_calibrate_overbooking_json(r.engine, "[", &out, &len), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_calibrate_overbooking_json(r.engine, NULL, NULL, &len), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_calibrate_overbooking_json(NULL, NULL, &out, &len), HY_NULL_PARAMETER);
    CHECK(out == NULL);
    hy_engine_free(r.engine);
    /* Per-slot counting: refused as a policy matter. */
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    CHECK_RC(hy_engine_calibrate_overbooking_json(r.engine, NULL, &out, &len), HY_INVALID_POLICY);
    CHECK(out == NULL);
    hy_engine_free(r.engine);
}

static void test_rosters(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_date holiday = r.visit_day;
    hy_roster roster;
    memset(&roster, 0, sizeof roster);
    roster.resource = r.dr_li;
    roster.weekdays = 0x1f; /* Monday to Friday */
    roster.start_min = 8 * 60;
    roster.end_min = 12 * 60;
    roster.segment_min = 30;
    roster.places = 6;
    roster.valid_from = r.today;
    roster.valid_until = r.today + 13;
    roster.closed_dates = &holiday;
    roster.closed_dates_len = 1;
    hy_roster_id id;
    CHECK_OK(hy_engine_add_roster(r.engine, &roster, &id));
    size_t created = 0;
    CHECK_OK(hy_engine_publish_rosters_until(r.engine, r.today + 13, &created));
    /* 2026-11-23 is a Monday: 14 days hold 10 weekdays, less the holiday, 8 segments each. */
    CHECK(created == 9 * 8);
    CHECK_OK(hy_engine_publish_rosters_until(r.engine, r.today + 13, &created));
    CHECK(created == 0);
    hy_day_availability day;
    size_t n;
    CHECK_OK(hy_engine_free_places_by_day(r.engine, r.cardiology, r.visit_day, r.visit_day, &day, 1, &n));
    CHECK(n == 1 && day.places == 0);
    hy_engine_free(r.engine);
}

/* Whether `text` holds `number` or any 8-character piece of it (card numbers are personal
 * information: only the masked form, at most 4 characters at either end, may ever be shown). */
static int holds_piece_of(const char *text, const char *number) {
    size_t n = strlen(number);
    if (strstr(text, number) != NULL) return 1;
    for (size_t i = 0; n >= 8 && i + 8 <= n; i++) {
        char piece[9];
        memcpy(piece, number + i, 8);
        piece[8] = 0;
        if (strstr(text, piece) != NULL) return 1;
    }
    return 0;
}

static void test_patients_and_cards(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_patient_id a, b, found;
    CHECK_OK(hy_engine_register_patient(r.engine, &a));
    CHECK_OK(hy_engine_register_patient(r.engine, &b));
    CHECK(a != b);
    CHECK_OK(hy_engine_link_card(r.engine, a, "social_security", "441900199001011234"));
    CHECK_OK(hy_engine_link_card(r.engine, a, "social_security", "441900199001011234"));
    CHECK_RC(hy_engine_link_card(r.engine, b, "social_security", "441900199001011234"), HY_CARD_TAKEN);
    /* The message names the card by its masked form only. */
    CHECK(strstr(last_error(), "social_security:4419**********1234") != NULL);
    CHECK(!holds_piece_of(last_error(), "441900199001011234"));
    CHECK_RC(hy_engine_find_patient_by_card(r.engine, "national_id", "110105196912310027", &found), HY_NOT_FOUND);
    CHECK(!holds_piece_of(last_error(), "110105196912310027"));
    char json[4096];
    size_t n = 0;
    CHECK_OK(hy_engine_patient_record_json(r.engine, a, json, sizeof json, &n));
    CHECK(strstr(json, "\"masked\":\"4419**********1234\"") != NULL);
    CHECK(!holds_piece_of(json, "441900199001011234") && strstr(json, "number") == NULL);
    CHECK_OK(hy_engine_link_card(r.engine, b, "e_health", "EH-77"));
    CHECK_OK(hy_engine_find_patient_by_card(r.engine, "social_security", "441900199001011234", &found));
    CHECK(found == a);
    found = 12345;
    CHECK_RC(hy_engine_find_patient_by_card(r.engine, "social_security", "nobody", &found), HY_NOT_FOUND);
    CHECK(found == 12345); /* outputs are written only on success */
    /* The same person registered twice: merge, and b's card now finds a. */
    CHECK_OK(hy_engine_merge_patients(r.engine, a, b));
    CHECK_OK(hy_engine_find_patient_by_card(r.engine, "e_health", "EH-77", &found));
    CHECK(found == a);
    CHECK_RC(hy_engine_merge_patients(r.engine, a, b), HY_INVALID_ARGUMENT);
    hy_engine_free(r.engine);
}

/* Bulk registration (province scale): contiguous ids, all or nothing, bounded. */
static void test_register_patients_in_bulk(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_stats s;
    hy_patient_id one, first = 0, next = 0, ids[100];
    CHECK_OK(hy_engine_register_patient(r.engine, &one));
    CHECK_OK(hy_engine_register_patients(r.engine, 100, ids, &first));
    CHECK(first == one + 1);
    for (hy_patient_id i = 0; i < 100; i++) CHECK(ids[i] == first + i);
    /* Only the first id, or neither output. */
    CHECK_OK(hy_engine_register_patients(r.engine, 3, NULL, &next));
    CHECK(next == first + 100);
    CHECK_OK(hy_engine_register_patients(r.engine, 2, NULL, NULL));
    CHECK_OK(hy_engine_stats(r.engine, &s));
    CHECK(s.patients == 1 + 100 + 3 + 2);
    /* n = 0: nothing registered, *first_out is 0 (no id), any ids_out (NULL included). */
    first = 12345;
    CHECK_OK(hy_engine_register_patients(r.engine, 0, NULL, &first));
    CHECK(first == 0);
    CHECK_OK(hy_engine_register_patients(r.engine, 0, NULL, NULL));
    /* Above the bound: HY_INVALID_ARGUMENT, outputs untouched, no one registered, no id used. */
    CHECK(HY_REGISTER_BATCH_MAX == 1000000);
    first = 12345;
    CHECK_RC(hy_engine_register_patients(r.engine, (size_t)HY_REGISTER_BATCH_MAX + 1, NULL, &first), HY_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "1000000") != NULL);
    CHECK_RC(hy_engine_register_patients(r.engine, SIZE_MAX, ids, &first), HY_INVALID_ARGUMENT);
    CHECK(first == 12345 && ids[0] == one + 1);
    CHECK_OK(hy_engine_stats(r.engine, &s));
    CHECK(s.patients == 106);
    CHECK_OK(hy_engine_register_patient(r.engine, &one));
    CHECK(one == next + 5);
    hy_engine_free(r.engine);
}

static void test_register_patients_with_cards(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    enum { N = 200 };
    static char text[N][32];
    const char *numbers[N];
    hy_patient_id ids[N], found;
    for (int i = 0; i < N; i++) {
        snprintf(text[i], sizeof text[i], "4419002000%08d", i);
        numbers[i] = text[i];
    }
    CHECK_OK(hy_engine_register_patients_with_cards(r.engine, "resident_id", numbers, N, ids));
    for (hy_patient_id i = 0; i < N; i++) {
        CHECK(ids[i] == ids[0] + i); /* contiguous, in the order of numbers */
        CHECK_OK(hy_engine_find_patient_by_card(r.engine, "resident_id", numbers[i], &found));
        CHECK(found == ids[i]);
    }
    hy_stats s;
    CHECK_OK(hy_engine_stats(r.engine, &s));
    CHECK(s.patients == N);
    /* n = 0: NULL arrays are fine, nothing registered. */
    CHECK_OK(hy_engine_register_patients_with_cards(r.engine, "resident_id", NULL, 0, NULL));

    /* A card someone already has: HY_CARD_TAKEN, the whole batch refused, ids untouched. */
    const char *taken[2] = {"441900209999999999", text[7]};
    hy_patient_id out[2] = {777, 777};
    CHECK_RC(hy_engine_register_patients_with_cards(r.engine, "resident_id", taken, 2, out), HY_CARD_TAKEN);
    CHECK(strstr(last_error(), "4419**********0007") != NULL);
    CHECK(!holds_piece_of(last_error(), text[7]));
    CHECK(out[0] == 777 && out[1] == 777);
    CHECK_RC(hy_engine_find_patient_by_card(r.engine, "resident_id", taken[0], &found), HY_NOT_FOUND);
    /* A number given twice in the batch: HY_INVALID_ARGUMENT, no one registered. */
    const char *twice[3] = {"441900209999999998", "441900209999999997", "441900209999999998"};
    hy_patient_id out3[3] = {777, 777, 777};
    CHECK_RC(hy_engine_register_patients_with_cards(r.engine, "resident_id", twice, 3, out3), HY_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "twice") != NULL && !holds_piece_of(last_error(), twice[0]));
    CHECK(out3[0] == 777 && out3[2] == 777);
    CHECK_RC(hy_engine_find_patient_by_card(r.engine, "resident_id", twice[1], &found), HY_NOT_FOUND);
    /* A malformed (empty) number refuses the batch too. */
    const char *empty[2] = {"441900209999999996", ""};
    CHECK_RC(hy_engine_register_patients_with_cards(r.engine, "resident_id", empty, 2, out), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_find_patient_by_card(r.engine, "resident_id", empty[0], &found), HY_NOT_FOUND);
    /* Above the bound: refused before either array is read. */
    CHECK_RC(hy_engine_register_patients_with_cards(r.engine, "resident_id", numbers, (size_t)HY_REGISTER_BATCH_MAX + 1, ids), HY_INVALID_ARGUMENT);
    CHECK_OK(hy_engine_stats(r.engine, &s));
    CHECK(s.patients == N);
    /* The refused batches took no id. */
    hy_patient_id first;
    CHECK_OK(hy_engine_register_patients(r.engine, 1, NULL, &first));
    CHECK(first == ids[N - 1] + 1);
    hy_engine_free(r.engine);
}

static void test_booking_lifecycle(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id first;
    CHECK(region_publish(&r, r.dr_li, 2, 2, &first));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    hy_request q = request_for(p, first, r.app);
    hy_booking b, c;
    CHECK_OK(hy_engine_hold(r.engine, &q, &b));
    CHECK(b.state == HY_BOOKING_HELD && b.slot == first && b.patient == p);
    CHECK(b.expires_at - b.created_at == 600);
    CHECK_OK(hy_engine_confirm(r.engine, b.id, &c));
    CHECK(c.state == HY_BOOKING_BOOKED && c.id == b.id);
    CHECK_RC(hy_engine_confirm(r.engine, b.id, &c), HY_WRONG_STATE);
    CHECK_RC(hy_engine_fulfil(r.engine, b.id, &c), HY_WRONG_STATE);
    /* Visit day: check in, then the visit takes place. */
    hy_timestamp visit;
    CHECK_OK(hy_timestamp_from_local(r.visit_day, 8 * 60, OFFSET_S, &visit));
    CHECK_OK(hy_engine_advance_to(r.engine, visit));
    CHECK_OK(hy_engine_check_in(r.engine, b.id, &c));
    CHECK(c.state == HY_BOOKING_CHECKED_IN);
    CHECK_OK(hy_engine_fulfil(r.engine, b.id, &c));
    CHECK(c.state == HY_BOOKING_FULFILLED);
    CHECK_RC(hy_engine_cancel(r.engine, b.id, &c), HY_WRONG_STATE);
    CHECK_OK(hy_engine_booking(r.engine, b.id, &c));
    CHECK(c.state == HY_BOOKING_FULFILLED);
    hy_engine_free(r.engine);
}

static void test_cancel_frees_the_place(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 1, &slot));
    hy_patient_id a, b;
    CHECK_OK(hy_engine_register_patient(r.engine, &a));
    CHECK_OK(hy_engine_register_patient(r.engine, &b));
    hy_request qa = request_for(a, slot, r.app), qb = request_for(b, slot, r.app);
    hy_booking ba, bb;
    CHECK_OK(hy_engine_book(r.engine, &qa, &ba));
    CHECK(ba.state == HY_BOOKING_BOOKED);
    CHECK_RC(hy_engine_book(r.engine, &qb, &bb), HY_SLOT_FULL);
    CHECK_OK(hy_engine_cancel(r.engine, ba.id, &ba));
    CHECK(ba.state == HY_BOOKING_CANCELLED);
    CHECK_OK(hy_engine_book(r.engine, &qb, &bb));
    hy_slot_info info;
    CHECK_OK(hy_engine_slot(r.engine, slot, &info));
    CHECK(info.pool_taken[0] + info.pool_taken[1] + info.pool_taken[2] + info.pool_taken[3] == 1);
    hy_engine_free(r.engine);
}

static void test_hold_expires_on_the_clock(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 1, &slot));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    hy_request q = request_for(p, slot, r.app);
    hy_booking b;
    CHECK_OK(hy_engine_hold_for(r.engine, &q, 120, &b));
    CHECK(b.expires_at - b.created_at == 120);
    CHECK_OK(hy_engine_advance_clock(r.engine, 121));
    CHECK_OK(hy_engine_booking(r.engine, b.id, &b));
    CHECK(b.state == HY_BOOKING_EXPIRED);
    CHECK_RC(hy_engine_confirm(r.engine, b.id, &b), HY_HOLD_EXPIRED);
    size_t expired = 99;
    CHECK_OK(hy_engine_tick(r.engine, &expired));
    CHECK(expired == 0);
    hy_engine_free(r.engine);
}

static void test_policy_json_and_toml(void) {
    region r;
    CHECK(region_open(&r, "{\"hold\": {\"ttl_s\": 60}}", HY_POLICY_JSON));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 1, &slot));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    hy_request q = request_for(p, slot, r.app);
    hy_booking b;
    CHECK_OK(hy_engine_hold(r.engine, &q, &b));
    CHECK(b.expires_at - b.created_at == 60);
    hy_engine_free(r.engine);

    CHECK(region_open(&r, "[hold]\nttl_s = 90\n[limits]\ntotal_active = 7\n", HY_POLICY_TOML));
    CHECK(region_publish(&r, r.dr_li, 1, 1, &slot));
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    q = request_for(p, slot, r.app);
    CHECK_OK(hy_engine_hold(r.engine, &q, &b));
    CHECK(b.expires_at - b.created_at == 90);
    hy_engine_free(r.engine);
}

static void test_no_show_suspends(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id first;
    CHECK(region_publish(&r, r.dr_li, 2, 2, &first));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    hy_request q = request_for(p, first, r.app);
    hy_booking b;
    CHECK_OK(hy_engine_book(r.engine, &q, &b));
    /* Not before the segment starts. */
    CHECK_RC(hy_engine_mark_no_show(r.engine, b.id, &b), HY_INVALID_ARGUMENT);
    CHECK_OK(hy_engine_advance_to(r.engine, b.starts_at + 60));
    CHECK_OK(hy_engine_mark_no_show(r.engine, b.id, &b));
    CHECK(b.state == HY_BOOKING_NO_SHOW);
    /* First no-show: a 30-day suspension blocks the next booking. */
    q.slot = first + 1;
    CHECK_RC(hy_engine_book(r.engine, &q, &b), HY_PATIENT_SUSPENDED);
    hy_engine_free(r.engine);
}

static void test_limits(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id first;
    CHECK(region_publish(&r, r.dr_li, 2, 2, &first));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    hy_request q = request_for(p, first, r.app);
    hy_booking b;
    CHECK_OK(hy_engine_book(r.engine, &q, &b));
    q.slot = first + 1;
    /* One active booking per (institution, department, date). */
    CHECK_RC(hy_engine_book(r.engine, &q, &b), HY_LIMIT_REACHED);
    hy_engine_free(r.engine);
}

static void test_referral_opens_the_referral_pool(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    /* A slot 10 days ahead: the public window (7 days) is not open, the referral window
     * (14 days) is. */
    hy_slot_spec spec = {r.dr_li, r.today + 10, 9 * 60, 9 * 60 + 30, 10};
    hy_slot_id slot;
    CHECK_OK(hy_engine_publish_slots(r.engine, &spec, 1, &slot));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    hy_request q = request_for(p, slot, r.app);
    hy_booking b;
    CHECK_RC(hy_engine_book(r.engine, &q, &b), HY_NOT_OPEN_YET);
    hy_referral_request rr;
    memset(&rr, 0, sizeof rr);
    rr.patient = p;
    rr.from = r.clinic;
    rr.specialty = "cardiology";
    rr.institution = HY_NONE;
    rr.urgency = HY_URGENCY_URGENT;
    rr.valid_days = 30;
    hy_referral ref;
    CHECK_OK(hy_engine_issue_referral(r.engine, &rr, &ref));
    CHECK(ref.id != 0 && ref.patient == p && ref.urgency == HY_URGENCY_URGENT && ref.used_by == 0);
    q.referral = ref.id;
    CHECK_OK(hy_engine_book(r.engine, &q, &b));
    CHECK(b.pool == HY_POOL_REFERRAL && b.referral == ref.id);
    /* A tertiary hospital cannot refer upwards. */
    rr.from = r.hospital;
    CHECK_RC(hy_engine_issue_referral(r.engine, &rr, &ref), HY_INVALID_ARGUMENT);
    hy_engine_free(r.engine);
}

static void test_waitlist_offer_on_cancel(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 1, &slot));
    hy_patient_id a, b;
    CHECK_OK(hy_engine_register_patient(r.engine, &a));
    CHECK_OK(hy_engine_register_patient(r.engine, &b));
    hy_request qa = request_for(a, slot, r.app);
    hy_booking ba;
    CHECK_OK(hy_engine_book(r.engine, &qa, &ba));
    hy_waitlist_request w;
    memset(&w, 0, sizeof w);
    w.patient = b;
    w.department = r.cardiology;
    w.resource = HY_NONE;
    w.date_from = r.visit_day;
    w.date_to = r.visit_day;
    w.channel = r.app;
    hy_waitlist_id entry;
    CHECK_OK(hy_engine_join_waitlist(r.engine, &w, &entry));
    CHECK(entry != 0);
    CHECK_OK(hy_engine_cancel(r.engine, ba.id, &ba));
    /* The freed place is now held for b: b's record lists one active (held) booking. */
    char json[4096];
    size_t n;
    CHECK_OK(hy_engine_patient_record_json(r.engine, b, json, sizeof json, &n));
    CHECK(strstr(json, "\"state\":\"held\"") != NULL);
    CHECK(strstr(json, "\"offer\":null") == NULL);
    /* The entry was consumed by the offer. */
    CHECK_RC(hy_engine_leave_waitlist(r.engine, entry), HY_NOT_FOUND);

    /* Join and leave. */
    CHECK_OK(hy_engine_join_waitlist(r.engine, &w, &entry));
    CHECK_OK(hy_engine_leave_waitlist(r.engine, entry));
    hy_engine_free(r.engine);
}

static void test_patient_record_json(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    CHECK_OK(hy_engine_link_card(r.engine, p, "social_security", "4419"));
    char small[8];
    size_t need = 0;
    CHECK_RC(hy_engine_patient_record_json(r.engine, p, small, sizeof small, &need), HY_BUFFER_TOO_SMALL);
    CHECK(need > sizeof small);
    char *buf = malloc(need);
    size_t n = 0;
    CHECK_OK(hy_engine_patient_record_json(r.engine, p, buf, need, &n));
    int ok = n + 1 == need && strlen(buf) == n && strstr(buf, "\"masked\":\"4**9\"") != NULL &&
             strstr(buf, "\"active_bookings\":[]") != NULL;
    free(buf);
    CHECK(ok);
    hy_engine_free(r.engine);
}

static void test_bulk_book_and_cancel(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id first;
    CHECK(region_publish(&r, r.dr_li, 3, 1, &first));
    enum { N = 4 };
    hy_request reqs[N];
    for (int i = 0; i < N; i++) {
        hy_patient_id p;
        CHECK_OK(hy_engine_register_patient(r.engine, &p));
        reqs[i] = request_for(p, first + (hy_slot_id)i, r.app);
    }
    reqs[3].slot = first; /* the first slot is taken by request 0 */
    hy_booking_result results[N];
    CHECK_OK(hy_engine_book_many(r.engine, reqs, N, results));
    for (int i = 0; i < 3; i++) {
        CHECK(results[i].result == HY_OK && results[i].booking.state == HY_BOOKING_BOOKED);
        CHECK(results[i].booking.slot == first + (hy_slot_id)i);
    }
    CHECK(results[3].result == HY_SLOT_FULL && results[3].booking.id == 0);

    hy_booking_id ids[N] = {results[0].booking.id, results[1].booking.id, results[2].booking.id, 424242};
    hy_booking_result cancelled[N];
    CHECK_OK(hy_engine_lifecycle_many(r.engine, HY_LIFECYCLE_CANCEL, ids, N, cancelled));
    for (int i = 0; i < 3; i++) CHECK(cancelled[i].result == HY_OK && cancelled[i].booking.state == HY_BOOKING_CANCELLED);
    CHECK(cancelled[3].result == HY_NOT_FOUND);

    hy_booking_result held[1];
    CHECK_OK(hy_engine_hold_many(r.engine, reqs, 1, held));
    CHECK(held[0].result == HY_OK && held[0].booking.state == HY_BOOKING_HELD);
    /* An empty batch is fine, with NULL arrays. */
    CHECK_OK(hy_engine_book_many(r.engine, NULL, 0, NULL));
    hy_engine_free(r.engine);
}

static void test_submit_books_outside_the_lottery(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 1, &slot));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    hy_request q = request_for(p, slot, r.app);
    hy_submission s;
    CHECK_OK(hy_engine_submit(r.engine, &q, &s));
    CHECK(s.outcome == HY_SUBMISSION_BOOKED && s.booking.state == HY_BOOKING_BOOKED);
    hy_engine_free(r.engine);
}

static void test_suspend_session_cancels_for_the_provider(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id first;
    CHECK(region_publish(&r, r.dr_li, 2, 2, &first));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    hy_request q = request_for(p, first + 1, r.app);
    hy_booking b;
    CHECK_OK(hy_engine_book(r.engine, &q, &b));
    size_t cancelled = 0;
    CHECK_OK(hy_engine_suspend_session(r.engine, r.dr_li, r.visit_day, 0, 0, &cancelled));
    CHECK(cancelled == 1);
    CHECK_OK(hy_engine_booking(r.engine, b.id, &b));
    CHECK(b.state == HY_BOOKING_PROVIDER_CANCELLED);
    CHECK_RC(hy_engine_book(r.engine, &q, &b), HY_SLOT_CLOSED);
    hy_slot_info info;
    CHECK_OK(hy_engine_slot(r.engine, first, &info));
    CHECK(info.closed);
    hy_engine_free(r.engine);
}

static void test_alternatives_spread_the_load(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_resource_id dr_wang;
    CHECK_OK(hy_engine_add_resource(r.engine, r.clinic_cardiology, HY_RESOURCE_DOCTOR, "Dr Wang", false, &dr_wang));
    hy_slot_id full, open;
    CHECK(region_publish(&r, r.dr_li, 1, 1, &full));
    CHECK(region_publish(&r, dr_wang, 2, 3, &open));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    hy_request q = request_for(p, full, r.app);
    hy_booking b;
    CHECK_OK(hy_engine_book(r.engine, &q, &b));
    hy_alternative alts[4];
    size_t n = 0;
    CHECK_OK(hy_engine_alternatives(r.engine, r.cardiology, r.visit_day, r.visit_day, alts, 4, &n));
    CHECK(n == 1);
    CHECK(alts[0].institution == r.clinic && alts[0].tier == HY_TIER_COMMUNITY && alts[0].earliest.slot == open);
    hy_engine_free(r.engine);
}

/* The live load board: the hospital's queue after two check-ins, 30 min / 10 places = 180 s a
 * patient; the idle community clinic first (least expected wait). */
static void test_load_board(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id first;
    CHECK(region_publish(&r, r.dr_li, 2, 10, &first));
    hy_booking b[3];
    for (int i = 0; i < 3; i++) {
        hy_patient_id p;
        CHECK_OK(hy_engine_register_patient(r.engine, &p));
        hy_request q = request_for(p, first, r.app);
        CHECK_OK(hy_engine_book(r.engine, &q, &b[i]));
    }
    hy_timestamp eight;
    CHECK_OK(hy_timestamp_from_local(r.visit_day, 8 * 60, OFFSET_S, &eight));
    CHECK_OK(hy_engine_advance_to(r.engine, eight));
    hy_booking c;
    CHECK_OK(hy_engine_check_in(r.engine, b[0].id, &c));
    CHECK_OK(hy_engine_check_in(r.engine, b[1].id, &c));
    hy_board_row rows[4];
    size_t n = 0;
    CHECK_OK(hy_engine_load_board(r.engine, "cardiology", "Guancheng", rows, 4, &n));
    CHECK(n == 2);
    CHECK(rows[0].institution == r.clinic && rows[0].queue == 0 && rows[0].expected_wait_s == 0);
    CHECK(rows[1].institution == r.hospital && rows[1].department == r.cardiology);
    CHECK(rows[1].tier == HY_TIER_TERTIARY && rows[1].date == r.visit_day && rows[1].half_day == HY_HALF_DAY_AM);
    CHECK(rows[1].queue == 2 && rows[1].mean_service_interval_s == 180.0 && rows[1].expected_wait_s == 360);
    /* 08:00's slot has started: 08:30's 10 places are free today; no beds. */
    CHECK(rows[1].free_today == 10 && rows[1].free_beds_tonight == 0);
    CHECK_OK(hy_engine_fulfil(r.engine, b[0].id, &c));
    CHECK_OK(hy_engine_load_board(r.engine, "cardiology", "Guancheng", rows, 4, &n));
    CHECK(rows[1].queue == 1 && rows[1].expected_wait_s == 180);
    /* Too small an array: the number of rows needed. */
    CHECK_RC(hy_engine_load_board(r.engine, "cardiology", "Guancheng", rows, 1, &n), HY_BUFFER_TOO_SMALL);
    CHECK(n == 2);
    hy_engine_free(r.engine);
}

/* Recommendations: a routine specialty query puts the community clinic first; a chest pain
 * complaint (bundled table: cardiology, emergency) the tertiary hospital; a host's own table. */
static void test_recommend(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_resource_id dr_gp;
    CHECK_OK(hy_engine_add_resource(r.engine, r.clinic_cardiology, HY_RESOURCE_DOCTOR, "Dr Gao", false, &dr_gp));
    hy_slot_id first, gp_first;
    CHECK(region_publish(&r, r.dr_li, 2, 4, &first));
    CHECK(region_publish(&r, dr_gp, 1, 4, &gp_first));
    hy_recommend_query q;
    memset(&q, 0, sizeof q);
    q.specialty = "cardiology";
    q.district = "Guancheng";
    q.patient = HY_NONE;
    q.date_from = r.visit_day;
    q.date_to = r.visit_day;
    hy_recommendation rows[4];
    size_t n = 0;
    CHECK_OK(hy_engine_recommend(r.engine, &q, rows, 4, &n));
    CHECK(n == 2);
    CHECK(rows[0].rank == 1 && rows[0].institution == r.clinic && rows[0].tier == HY_TIER_COMMUNITY);
    CHECK(rows[0].department == r.clinic_cardiology && rows[0].resource == dr_gp && rows[0].same_district);
    CHECK(rows[0].earliest.slot == gp_first && rows[0].earliest.free == 4);
    CHECK(rows[0].reason == HY_RECOMMEND_REASON_COMMUNITY_FIRST && rows[0].urgency == HY_URGENCY_ROUTINE);
    CHECK(rows[0].expected_wait_s == HY_NONE);
    CHECK(rows[1].institution == r.hospital && rows[1].reason == HY_RECOMMEND_REASON_HIGHER_TIER);
    CHECK(rows[1].earliest.slot == first && rows[1].resource == r.dr_li);
    /* A limit of 1, or an output array of 1. */
    q.limit = 1;
    CHECK_OK(hy_engine_recommend(r.engine, &q, rows, 4, &n));
    CHECK(n == 1 && rows[0].institution == r.clinic);
    q.limit = 0;
    CHECK_OK(hy_engine_recommend(r.engine, &q, rows, 1, &n));
    CHECK(n == 1 && rows[0].institution == r.clinic);
    /* Chest pain may be an emergency: the hospital first. */
    q.specialty = NULL;
    q.complaint = "胸痛 since this morning";
    CHECK_OK(hy_engine_recommend(r.engine, &q, rows, 4, &n));
    CHECK(n == 2 && rows[0].institution == r.hospital && rows[0].reason == HY_RECOMMEND_REASON_EMERGENCY);
    CHECK(rows[0].urgency == HY_URGENCY_EMERGENCY);
    /* The host's own table. */
    CHECK_OK(hy_engine_set_complaint_table(r.engine,
        "{\"complaints\": [{\"keywords\": [\"heart\"], \"specialties\": [\"cardiology\"], \"urgency\": \"urgent\"}]}"));
    q.complaint = "heart flutters";
    CHECK_OK(hy_engine_recommend(r.engine, &q, rows, 4, &n));
    CHECK(n == 2 && rows[0].reason == HY_RECOMMEND_REASON_URGENT && rows[0].institution == r.hospital);
    q.complaint = "chest pain";
    CHECK_RC(hy_engine_recommend(r.engine, &q, rows, 4, &n), HY_INVALID_ARGUMENT);
    hy_engine_free(r.engine);
}

static void test_system_clock_engine(void) {
    hy_engine *e = NULL;
    CHECK_OK(hy_engine_new(NULL, HY_POLICY_JSON, OFFSET_S, &e));
    hy_timestamp now = 0;
    CHECK_OK(hy_engine_now(e, &now));
    CHECK(now > 1700000000);
    CHECK_RC(hy_engine_advance_clock(e, 10), HY_NOT_MANUAL_CLOCK);
    CHECK_OK(hy_engine_tick(e, NULL));
    hy_engine_free(e);
}

/* Expired holds (issue 12): confirm and cancel answer HY_HOLD_EXPIRED whether the call finds
 * the expiry itself or a tick (hy_engine_tick, or hy_engine_advance_clock) processed it first. */
static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

typedef struct {
    hy_engine *engine;
    hy_slot_id slot;
    hy_booking held[4];
} wall_clock_holds;

/* A system-clock engine with four 1-second holds that have run out (not yet ticked). */
static int hold_four_and_wait(wall_clock_holds *w) {
    memset(w, 0, sizeof *w);
    if (hy_engine_new(NULL, HY_POLICY_JSON, OFFSET_S, &w->engine) != HY_OK) return 0;
    hy_timestamp now;
    if (hy_engine_now(w->engine, &now) != HY_OK) return 0;
    hy_date today = (hy_date)((now + OFFSET_S) / 86400);
    hy_institution_id inst;
    hy_department_id dep;
    hy_resource_id res;
    hy_channel_id app;
    if (hy_engine_add_institution(w->engine, "Qingdao Municipal", HY_TIER_SECONDARY, "Shinan", &inst) != HY_OK) return 0;
    if (hy_engine_add_department(w->engine, inst, "cardiology", "Cardiology", &dep) != HY_OK) return 0;
    if (hy_engine_add_resource(w->engine, dep, HY_RESOURCE_DOCTOR, "Dr Zhao", false, &res) != HY_OK) return 0;
    if (hy_engine_channel_id(w->engine, "app", &app) != HY_OK) return 0;
    hy_slot_spec spec = {res, today + 2, 9 * 60, 9 * 60 + 30, 4};
    if (hy_engine_publish_slots(w->engine, &spec, 1, &w->slot) != HY_OK) return 0;
    for (int i = 0; i < 4; i++) {
        hy_patient_id p;
        if (hy_engine_register_patient(w->engine, &p) != HY_OK) return 0;
        hy_request q = request_for(p, w->slot, app);
        if (hy_engine_hold_for(w->engine, &q, 1, &w->held[i]) != HY_OK) return 0;
    }
    sleep_ms(1200);
    return 1;
}

/* Before the fix, hy_engine_cancel of a hold past its expiry, before any tick, succeeded: the
 * hold was "cancelled" though it had expired. */
static void test_expired_hold_answers_hold_expired_before_the_tick(void) {
    wall_clock_holds w;
    CHECK(hold_four_and_wait(&w));
    hy_booking b;
    memset(&b, 0, sizeof b);
    CHECK_RC(hy_engine_confirm(w.engine, w.held[0].id, &b), HY_HOLD_EXPIRED);
    CHECK_RC(hy_engine_cancel(w.engine, w.held[1].id, &b), HY_HOLD_EXPIRED);
    /* Asked again, after the calls themselves found the expiry, and crosswise. */
    CHECK_RC(hy_engine_confirm(w.engine, w.held[0].id, &b), HY_HOLD_EXPIRED);
    CHECK_RC(hy_engine_cancel(w.engine, w.held[0].id, &b), HY_HOLD_EXPIRED);
    CHECK_RC(hy_engine_cancel(w.engine, w.held[1].id, &b), HY_HOLD_EXPIRED);
    CHECK_RC(hy_engine_confirm(w.engine, w.held[1].id, &b), HY_HOLD_EXPIRED);
    CHECK(b.id == 0); /* never written */
    hy_engine_free(w.engine);
}

/* Before the fix, once hy_engine_tick had expired the hold, confirm and cancel answered
 * HY_WRONG_STATE. */
static void test_expired_hold_answers_hold_expired_after_the_tick(void) {
    wall_clock_holds w;
    CHECK(hold_four_and_wait(&w));
    size_t expired = 0;
    CHECK_OK(hy_engine_tick(w.engine, &expired));
    CHECK(expired == 4 && slot_taken(w.engine, w.slot) == 0);
    hy_booking b;
    CHECK_RC(hy_engine_confirm(w.engine, w.held[2].id, &b), HY_HOLD_EXPIRED);
    CHECK_RC(hy_engine_cancel(w.engine, w.held[3].id, &b), HY_HOLD_EXPIRED);
    CHECK_RC(hy_engine_cancel(w.engine, w.held[2].id, &b), HY_HOLD_EXPIRED);
    CHECK_RC(hy_engine_confirm(w.engine, w.held[3].id, &b), HY_HOLD_EXPIRED);
    CHECK(booking_state(w.engine, w.held[2].id) == HY_BOOKING_EXPIRED);
    hy_engine_free(w.engine);
}

/* Before the fix, after hy_engine_advance_clock (which ticks): HY_WRONG_STATE. */
static void test_expired_hold_answers_hold_expired_after_advance_clock(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 2, &slot));
    hy_patient_id p, q;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    CHECK_OK(hy_engine_register_patient(r.engine, &q));
    hy_request rp = request_for(p, slot, r.app), rq = request_for(q, slot, r.app);
    hy_booking a, c, b;
    CHECK_OK(hy_engine_hold_for(r.engine, &rp, 60, &a));
    CHECK_OK(hy_engine_hold_for(r.engine, &rq, 60, &c));
    CHECK_OK(hy_engine_advance_clock(r.engine, 60));
    CHECK(booking_state(r.engine, a.id) == HY_BOOKING_EXPIRED && slot_taken(r.engine, slot) == 0);
    CHECK_RC(hy_engine_confirm(r.engine, a.id, &b), HY_HOLD_EXPIRED);
    CHECK_RC(hy_engine_cancel(r.engine, c.id, &b), HY_HOLD_EXPIRED);
    CHECK_RC(hy_engine_cancel(r.engine, a.id, &b), HY_HOLD_EXPIRED);
    CHECK_RC(hy_engine_confirm(r.engine, c.id, &b), HY_HOLD_EXPIRED);
    hy_engine_free(r.engine);
}

/* No id of any kind is 0 (issue 12): 0 is free to mean "none" (bulk results, optional ids). */
/* Before the fix: the first institution, department, resource, patient, slot and roster were id 0,
 * and so was the "app" channel; booking ids of patient 0 were small numbers. */
static void test_no_id_handed_out_is_zero(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    CHECK(r.hospital != 0 && r.clinic != 0 && r.cardiology != 0 && r.clinic_cardiology != 0 && r.dr_li != 0);
    const char *standard[] = {"app", "wechat", "web", "kiosk", "phone", "clinic"};
    for (size_t i = 0; i < (sizeof standard / sizeof standard[0]); i++) {
        hy_channel_id ch = 0;
        CHECK_OK(hy_engine_channel_id(r.engine, standard[i], &ch));
        CHECK(ch != 0);
    }
    hy_channel_id added = 0;
    CHECK_OK(hy_engine_add_channel(r.engine, "alipay", &added));
    CHECK(added != 0);
    hy_patient_id p = 0;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    CHECK(p != 0);
    hy_slot_id slot = 0;
    CHECK(region_publish(&r, r.dr_li, 2, 3, &slot));
    CHECK(slot != 0);
    hy_roster roster;
    memset(&roster, 0, sizeof roster);
    roster.resource = r.dr_li;
    roster.weekdays = 0x1f;
    roster.start_min = 14 * 60;
    roster.end_min = 16 * 60;
    roster.segment_min = 30;
    roster.places = 2;
    roster.valid_from = r.today;
    roster.valid_until = r.today + 6;
    hy_roster_id roster_id = 0;
    CHECK_OK(hy_engine_add_roster(r.engine, &roster, &roster_id));
    CHECK(roster_id != 0);
    hy_request q = request_for(p, slot, r.app);
    hy_booking b;
    CHECK_OK(hy_engine_book(r.engine, &q, &b));
    CHECK(b.id != 0 && b.patient == p && b.slot == slot && b.department == r.cardiology && b.channel == r.app);
    hy_booking_result bulk[1];
    hy_patient_id p2;
    CHECK_OK(hy_engine_register_patient(r.engine, &p2));
    hy_request q2 = request_for(p2, slot + 1, r.app);
    CHECK_OK(hy_engine_book_many(r.engine, &q2, 1, bulk));
    CHECK(bulk[0].result == HY_OK && bulk[0].booking.id != 0);
    hy_referral_request rr = {p2, r.clinic, "cardiology", HY_NONE, HY_URGENCY_ROUTINE, 30};
    hy_referral ref;
    CHECK_OK(hy_engine_issue_referral(r.engine, &rr, &ref));
    CHECK(ref.id != 0 && ref.specialty != 0);
    hy_waitlist_request wl;
    memset(&wl, 0, sizeof wl);
    wl.patient = p;
    wl.department = r.cardiology;
    wl.resource = HY_NONE;
    wl.date_from = r.visit_day + 1;
    wl.date_to = r.visit_day + 3;
    wl.channel = r.app;
    hy_waitlist_id entry = 0;
    CHECK_OK(hy_engine_join_waitlist(r.engine, &wl, &entry));
    CHECK(entry != 0);
    hy_engine_free(r.engine);
}

/* Before the fix: id 0 was the first institution, slot, patient, …, so looking it up succeeded. */
static void test_id_zero_is_never_found(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 2, &slot));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    hy_slot_info info;
    CHECK_RC(hy_engine_slot(r.engine, 0, &info), HY_NOT_FOUND);
    hy_booking b;
    CHECK_RC(hy_engine_booking(r.engine, 0, &b), HY_NOT_FOUND);
    CHECK_RC(hy_engine_confirm(r.engine, 0, &b), HY_NOT_FOUND);
    CHECK_RC(hy_engine_cancel(r.engine, 0, &b), HY_NOT_FOUND);
    char json[256];
    size_t n;
    CHECK_RC(hy_engine_patient_record_json(r.engine, 0, json, sizeof json, &n), HY_NOT_FOUND);
    CHECK_RC(hy_engine_link_card(r.engine, 0, "e_health", "EH-0"), HY_NOT_FOUND);
    CHECK_RC(hy_engine_merge_patients(r.engine, p, 0), HY_NOT_FOUND);
    CHECK_RC(hy_engine_merge_patients(r.engine, 0, p), HY_NOT_FOUND);
    hy_department_id dep;
    CHECK_RC(hy_engine_add_department(r.engine, 0, "cardiology", "Cardiology", &dep), HY_NOT_FOUND);
    hy_resource_id res;
    CHECK_RC(hy_engine_add_resource(r.engine, 0, HY_RESOURCE_DOCTOR, "Dr Nobody", false, &res), HY_NOT_FOUND);
    hy_slot_spec spec = {0, r.visit_day, 600, 630, 1};
    hy_slot_id first;
    CHECK_RC(hy_engine_publish_slots(r.engine, &spec, 1, &first), HY_NOT_FOUND);
    hy_request q = request_for(0, slot, r.app);
    CHECK_RC(hy_engine_book(r.engine, &q, &b), HY_NOT_FOUND); /* patient 0 */
    q = request_for(p, 0, r.app);
    CHECK_RC(hy_engine_book(r.engine, &q, &b), HY_NOT_FOUND); /* slot 0 */
    q = request_for(p, slot, 0);
    CHECK_RC(hy_engine_book(r.engine, &q, &b), HY_NOT_FOUND); /* channel 0 */
    size_t cancelled;
    CHECK_RC(hy_engine_suspend_session(r.engine, 0, r.visit_day, 0, 0, &cancelled), HY_NOT_FOUND);
    hy_day_availability days[1];
    CHECK_RC(hy_engine_free_places_by_day(r.engine, 0, r.visit_day, r.visit_day, days, 1, &n), HY_NOT_FOUND);
    CHECK_RC(hy_engine_leave_waitlist(r.engine, 0), HY_NOT_FOUND);
    CHECK_RC(hy_engine_fhir_export_slot(r.engine, 0, json, sizeof json, &n), HY_NOT_FOUND);
    CHECK_RC(hy_engine_fhir_export_appointment(r.engine, 0, json, sizeof json, &n), HY_NOT_FOUND);
    /* In an optional 32-bit id field, 0 is not "none" (that is HY_NONE): it is looked up. */
    hy_availability_query aq;
    memset(&aq, 0, sizeof aq);
    aq.department = 0;
    aq.resource = aq.institution = HY_NONE;
    aq.date_from = aq.date_to = r.visit_day;
    hy_free_slot free_slots[2];
    CHECK_RC(hy_engine_find_free_slots(r.engine, &aq, free_slots, 2, &n), HY_NOT_FOUND);
    aq.department = HY_NONE;
    aq.institution = 0;
    CHECK_RC(hy_engine_find_free_slots(r.engine, &aq, free_slots, 2, &n), HY_NOT_FOUND);
    hy_referral_request rr = {p, r.clinic, "cardiology", 0, HY_URGENCY_ROUTINE, 30};
    hy_referral ref;
    CHECK_RC(hy_engine_issue_referral(r.engine, &rr, &ref), HY_NOT_FOUND);
    rr.institution = HY_NONE;
    rr.from = 0;
    CHECK_RC(hy_engine_issue_referral(r.engine, &rr, &ref), HY_NOT_FOUND);
    /* Nothing changed on the way. */
    CHECK(slot_taken(r.engine, slot) == 0 && slot_count(r.engine) == 1);
    hy_engine_free(r.engine);
}

TEST_MAIN_BEGIN
    RUN(test_version_matches_header);
    RUN(test_error_messages);
    RUN(test_dates);
    RUN(test_registry_and_stats);
    RUN(test_publish_and_query);
    RUN(test_rosters);
    RUN(test_patients_and_cards);
    RUN(test_register_patients_in_bulk);
    RUN(test_register_patients_with_cards);
    RUN(test_booking_lifecycle);
    RUN(test_cancel_frees_the_place);
    RUN(test_hold_expires_on_the_clock);
    RUN(test_policy_json_and_toml);
    RUN(test_no_show_suspends);
    RUN(test_limits);
    RUN(test_referral_opens_the_referral_pool);
    RUN(test_waitlist_offer_on_cancel);
    RUN(test_patient_record_json);
    RUN(test_set_policy);
    RUN(test_booking_groups);
    RUN(test_calibrate_overbooking);
    RUN(test_execute_with_request_key);
    RUN(test_bulk_book_and_cancel);
    RUN(test_submit_books_outside_the_lottery);
    RUN(test_suspend_session_cancels_for_the_provider);
    RUN(test_alternatives_spread_the_load);
    RUN(test_load_board);
    RUN(test_recommend);
    RUN(test_system_clock_engine);
    RUN(test_expired_hold_answers_hold_expired_before_the_tick);
    RUN(test_expired_hold_answers_hold_expired_after_the_tick);
    RUN(test_expired_hold_answers_hold_expired_after_advance_clock);
    RUN(test_no_id_handed_out_is_zero);
    RUN(test_id_zero_is_never_found);
TEST_MAIN_END
