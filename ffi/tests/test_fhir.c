/* HL7 FHIR R4 through C: export, $find/$hold/$book/$cancel, CSV roster import, and errors as
 * an OperationOutcome in hy_last_error_message. The calls that change the engine hand out a
 * library-allocated string (freed with hy_string_free) after checking every output first. */
#include "test_common.h"

static char buf[1 << 16];


static void test_export_find_hold_book_cancel(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 2, 1, &slot));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    size_t n = 0;
    CHECK_OK(hy_engine_fhir_export_slot(r.engine, slot, buf, sizeof buf, &n));
    CHECK(strstr(buf, "\"resourceType\":\"Slot\"") != NULL && strstr(buf, "\"status\":\"free\"") != NULL);
    CHECK_OK(hy_engine_fhir_find(r.engine, "{\"start\":\"2026-11-25\",\"end\":\"2026-11-26\",\"specialty\":\"cardiology\"}", buf, sizeof buf, &n));
    CHECK(strstr(buf, "\"searchset\"") != NULL && strlen(buf) == n);
    char req[256];
    snprintf(req, sizeof req, "{\"slot\":\"Slot/slot-%u\",\"patient\":\"Patient/patient-%u\",\"channel\":\"app\"}", slot, p);
    char *json = NULL;
    CHECK_OK(hy_engine_fhir_hold(r.engine, req, &json, &n));
    int pending = json != NULL && strlen(json) == n && strstr(json, "\"status\":\"pending\"") != NULL;
    hy_string_free(json);
    CHECK(pending);
    CHECK_OK(hy_engine_fhir_export_slot(r.engine, slot, buf, sizeof buf, &n));
    CHECK(strstr(buf, "\"status\":\"busy-tentative\"") != NULL);
    /* The one place is held: a second patient's $book is a conflict with the engine's code. */
    hy_patient_id q;
    CHECK_OK(hy_engine_register_patient(r.engine, &q));
    snprintf(req, sizeof req, "{\"slot\":\"Slot/slot-%u\",\"patient\":\"Patient/patient-%u\",\"channel\":\"wechat\"}", slot, q);
    json = (char *)0x1;
    CHECK_RC(hy_engine_fhir_book(r.engine, req, &json, &n), HY_SLOT_FULL);
    CHECK(json == (char *)0x1); /* nothing written on failure */
    char msg[4096];
    size_t m = 0;
    CHECK_OK(hy_last_error_message(msg, sizeof msg, &m));
    CHECK(strstr(msg, "OperationOutcome") != NULL && strstr(msg, "conflict") != NULL);
    hy_engine_free(r.engine);
}

static void test_bad_fhir_input_is_an_error(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    size_t n = 0;
    CHECK_RC(hy_engine_fhir_find(r.engine, "not json", buf, sizeof buf, &n), HY_INVALID_ARGUMENT);
    char *json = NULL;
    CHECK_RC(hy_engine_fhir_hold(r.engine, "{\"slot\":\"Slot/slot-999\",\"patient\":\"Patient/patient-1\",\"typo\":1}", &json, &n), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_fhir_cancel(r.engine, "{\"appointment\":\"Appointment/booking-77\"}", &json, &n), HY_NOT_FOUND);
    CHECK_RC(hy_engine_fhir_book(r.engine, NULL, &json, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_fhir_import_csv(r.engine, "resource\n", NULL, &json, &n), HY_NULL_PARAMETER);
    CHECK(json == NULL);
    CHECK_RC(hy_engine_fhir_find(NULL, "{}", buf, sizeof buf, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_fhir_find(r.engine, NULL, buf, sizeof buf, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_fhir_export_slot(r.engine, 12345, buf, sizeof buf, &n), HY_NOT_FOUND);
    char tiny[4];
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 1, &slot));
    CHECK_RC(hy_engine_fhir_export_slot(r.engine, slot, tiny, sizeof tiny, &n), HY_BUFFER_TOO_SMALL);
    CHECK(n > sizeof tiny);
    hy_engine_free(r.engine);
}

/* Issue 12: with the old (buf, len, written) outputs, a NULL `buf` or a too-small `len` came
 * back as HY_NULL_PARAMETER / HY_BUFFER_TOO_SMALL after the place was held, and the retry the
 * README recommended failed (HY_LIMIT_REACHED): the host never learnt of the hold. */
static void test_fhir_hold_refused_outputs_leave_the_slot_free(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 1, &slot));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    char req[256];
    snprintf(req, sizeof req, "{\"slot\":\"Slot/slot-%u\",\"patient\":\"Patient/patient-%u\",\"channel\":\"app\"}", slot, p);
    char *json = (char *)0x1;
    size_t n = 777;
    CHECK_RC(hy_engine_fhir_hold(r.engine, req, NULL, &n), HY_NULL_PARAMETER);
    CHECK(slot_taken(r.engine, slot) == 0);
    CHECK_RC(hy_engine_fhir_hold(r.engine, req, &json, NULL), HY_NULL_PARAMETER);
    CHECK(slot_taken(r.engine, slot) == 0);
    CHECK_RC(hy_engine_fhir_hold(r.engine, req, &json, MISALIGNED_SIZE_T), HY_INVALID_ARGUMENT);
    CHECK(slot_taken(r.engine, slot) == 0);
    CHECK(json == (char *)0x1 && n == 777); /* outputs untouched on failure */
    /* Called correctly, it succeeds and says what it did. */
    CHECK_OK(hy_engine_fhir_hold(r.engine, req, &json, &n));
    int ok = json != NULL && strlen(json) == n && strstr(json, "\"status\":\"pending\"") != NULL;
    hy_string_free(json);
    CHECK(ok);
    CHECK(slot_taken(r.engine, slot) == 1);
    hy_engine_free(r.engine);
}

/* Issue 12: $book of a slot took the place before HY_NULL_PARAMETER (NULL `buf`), and the
 * retry answered HY_LIMIT_REACHED; $book confirming a hold confirmed it before
 * HY_BUFFER_TOO_SMALL. */
static void test_fhir_book_refused_outputs_book_nothing(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 2, &slot));
    hy_patient_id p, q;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    CHECK_OK(hy_engine_register_patient(r.engine, &q));
    char req[256];
    snprintf(req, sizeof req, "{\"slot\":\"Slot/slot-%u\",\"patient\":\"Patient/patient-%u\",\"channel\":\"app\"}", slot, p);
    char *json = NULL;
    size_t n = 0;
    CHECK_RC(hy_engine_fhir_book(r.engine, req, NULL, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_fhir_book(r.engine, req, &json, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_fhir_book(r.engine, req, &json, MISALIGNED_SIZE_T), HY_INVALID_ARGUMENT);
    CHECK(slot_taken(r.engine, slot) == 0 && json == NULL);
    CHECK_OK(hy_engine_fhir_book(r.engine, req, &json, &n));
    int ok = json != NULL && strlen(json) == n && strstr(json, "\"status\":\"booked\"") != NULL;
    hy_string_free(json);
    CHECK(ok);
    CHECK(slot_taken(r.engine, slot) == 1);

    /* $book confirming a hold: refused outputs leave it held. */
    hy_request hq = request_for(q, slot, r.app);
    hy_booking held;
    CHECK_OK(hy_engine_hold(r.engine, &hq, &held));
    snprintf(req, sizeof req, "{\"appointment\":\"Appointment/booking-%llu\"}", (unsigned long long)held.id);
    json = NULL;
    CHECK_RC(hy_engine_fhir_book(r.engine, req, NULL, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_fhir_book(r.engine, req, &json, NULL), HY_NULL_PARAMETER);
    CHECK(booking_state(r.engine, held.id) == HY_BOOKING_HELD && json == NULL);
    CHECK_OK(hy_engine_fhir_book(r.engine, req, &json, &n));
    ok = json != NULL && strstr(json, "\"status\":\"booked\"") != NULL;
    hy_string_free(json);
    CHECK(ok);
    CHECK(booking_state(r.engine, held.id) == HY_BOOKING_BOOKED);
    hy_engine_free(r.engine);
}

/* Issue 12: the booking was cancelled before HY_BUFFER_TOO_SMALL came back, and the retry
 * answered HY_WRONG_STATE. */
static void test_fhir_cancel_refused_outputs_cancel_nothing(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 1, 1, &slot));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    hy_request q = request_for(p, slot, r.app);
    hy_booking b;
    CHECK_OK(hy_engine_book(r.engine, &q, &b));
    char req[128];
    snprintf(req, sizeof req, "{\"appointment\":\"Appointment/booking-%llu\"}", (unsigned long long)b.id);
    char *json = NULL;
    size_t n = 0;
    CHECK_RC(hy_engine_fhir_cancel(r.engine, req, NULL, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_fhir_cancel(r.engine, req, &json, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_fhir_cancel(r.engine, req, &json, MISALIGNED_SIZE_T), HY_INVALID_ARGUMENT);
    CHECK(booking_state(r.engine, b.id) == HY_BOOKING_BOOKED && slot_taken(r.engine, slot) == 1 && json == NULL);
    CHECK_OK(hy_engine_fhir_cancel(r.engine, req, &json, &n));
    int ok = json != NULL && strlen(json) == n && strstr(json, "\"status\":\"cancelled\"") != NULL;
    hy_string_free(json);
    CHECK(ok);
    CHECK(booking_state(r.engine, b.id) == HY_BOOKING_CANCELLED && slot_taken(r.engine, slot) == 0);
    hy_engine_free(r.engine);
}

/* Issue 12: the roster's slots were published before HY_BUFFER_TOO_SMALL came back, and the
 * retry was refused (HY_INVALID_ARGUMENT): the host never got the report. */
static void test_fhir_import_csv_refused_outputs_publish_nothing(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    const char *csv = "resource,department,weekday,session_start,session_end,segment_minutes,places\n"
                      "Dr Li,Cardiology,wed,08:00,10:00,30,2\n";
    char options[256];
    snprintf(options, sizeof options, "{\"institution\":%u,\"valid_from\":\"2026-11-25\",\"valid_until\":\"2026-11-25\"}", r.hospital);
    char *json = NULL;
    size_t n = 0;
    CHECK_RC(hy_engine_fhir_import_csv(r.engine, csv, options, NULL, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_fhir_import_csv(r.engine, csv, options, &json, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_fhir_import_csv(r.engine, csv, options, &json, MISALIGNED_SIZE_T), HY_INVALID_ARGUMENT);
    CHECK(slot_count(r.engine) == 0 && json == NULL);
    CHECK_OK(hy_engine_fhir_import_csv(r.engine, csv, options, &json, &n));
    int ok = json != NULL && strlen(json) == n && strstr(json, "\"slots\":4") != NULL;
    hy_string_free(json);
    CHECK(ok);
    CHECK(slot_count(r.engine) == 4);
    hy_engine_free(r.engine);
}

/* Issue 12: the bundle's slots were published before HY_NULL_PARAMETER (NULL `buf`) came
 * back. */
static void test_fhir_import_bundle_refused_outputs_publish_nothing(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    char bundle[1024];
    snprintf(bundle, sizeof bundle,
             "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
             "{\"fullUrl\":\"urn:uuid:s1\",\"resource\":{\"resourceType\":\"Schedule\",\"id\":\"li\","
             "\"identifier\":[{\"system\":\"https://example.invalid/haoyuan/fhir/sid/resource\",\"value\":\"%u\"}]}},"
             "{\"resource\":{\"resourceType\":\"Slot\",\"schedule\":{\"reference\":\"Schedule/li\"},\"status\":\"free\","
             "\"start\":\"2026-11-25T08:00:00+08:00\",\"end\":\"2026-11-25T08:30:00+08:00\"}},"
             "{\"resource\":{\"resourceType\":\"Slot\",\"schedule\":{\"reference\":\"Schedule/li\"},\"status\":\"free\","
             "\"start\":\"2026-11-25T08:30:00+08:00\",\"end\":\"2026-11-25T09:00:00+08:00\"}}]}",
             r.dr_li);
    char *json = NULL;
    size_t n = 0;
    CHECK_RC(hy_engine_fhir_import_bundle(r.engine, bundle, "{}", NULL, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_fhir_import_bundle(r.engine, bundle, "{}", &json, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_fhir_import_bundle(r.engine, bundle, "{}", &json, MISALIGNED_SIZE_T), HY_INVALID_ARGUMENT);
    CHECK(slot_count(r.engine) == 0 && json == NULL);
    CHECK_OK(hy_engine_fhir_import_bundle(r.engine, bundle, "{}", &json, &n));
    int ok = json != NULL && strlen(json) == n && strstr(json, "\"slots\":2") != NULL;
    hy_string_free(json);
    CHECK(ok);
    CHECK(slot_count(r.engine) == 2);
    hy_string_free(NULL); /* accepted */
    hy_engine_free(r.engine);
}

/* The read-only exports C gained to match Rust and Python: a resource's Schedule, a patient's
 * Appointments, a department's waitlist. They copy into the caller's buffer like the other
 * exports; unknown ids are the engine's HY_NOT_FOUND with an OperationOutcome. */
static void test_export_schedule_patient_waitlist(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id slot;
    CHECK(region_publish(&r, r.dr_li, 2, 1, &slot));
    hy_patient_id p, q;
    CHECK_OK(hy_engine_register_patient(r.engine, &p));
    CHECK_OK(hy_engine_register_patient(r.engine, &q));
    hy_request req = request_for(p, slot, r.app);
    hy_booking b;
    CHECK_OK(hy_engine_book(r.engine, &req, &b));
    hy_waitlist_request w;
    memset(&w, 0, sizeof w);
    w.patient = q;
    w.department = r.cardiology;
    w.resource = HY_NONE;
    w.date_from = r.visit_day;
    w.date_to = r.visit_day;
    w.channel = r.app;
    hy_waitlist_id entry;
    CHECK_OK(hy_engine_join_waitlist(r.engine, &w, &entry));

    size_t n = 0;
    CHECK_OK(hy_engine_fhir_export_schedule(r.engine, r.dr_li, buf, sizeof buf, &n));
    CHECK(strlen(buf) == n && strstr(buf, "\"resourceType\":\"Schedule\"") != NULL);
    CHECK_OK(hy_engine_fhir_export_patient_appointments(r.engine, p, buf, sizeof buf, &n));
    CHECK(strstr(buf, "\"collection\"") != NULL && strstr(buf, "\"status\":\"booked\"") != NULL);
    CHECK_OK(hy_engine_fhir_export_waitlist(r.engine, r.cardiology, buf, sizeof buf, &n));
    CHECK(strstr(buf, "\"collection\"") != NULL && strstr(buf, "\"status\":\"waitlist\"") != NULL);
    char ref[64];
    snprintf(ref, sizeof ref, "Patient/patient-%u", q);
    CHECK(strstr(buf, ref) != NULL);

    /* A small buffer: the size needed, buffer untouched; then it fits. */
    char tiny[8] = "unset";
    size_t need = 0;
    CHECK_RC(hy_engine_fhir_export_waitlist(r.engine, r.cardiology, tiny, sizeof tiny, &need), HY_BUFFER_TOO_SMALL);
    CHECK(need == n + 1 && strcmp(tiny, "unset") == 0);

    /* Unknown ids, NULLs. */
    CHECK_RC(hy_engine_fhir_export_schedule(r.engine, 999, buf, sizeof buf, &n), HY_NOT_FOUND);
    CHECK(strstr(last_error(), "OperationOutcome") != NULL);
    CHECK_RC(hy_engine_fhir_export_patient_appointments(r.engine, 0, buf, sizeof buf, &n), HY_NOT_FOUND);
    CHECK_RC(hy_engine_fhir_export_waitlist(r.engine, 999, buf, sizeof buf, &n), HY_NOT_FOUND);
    CHECK_RC(hy_engine_fhir_export_schedule(NULL, r.dr_li, buf, sizeof buf, &n), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_fhir_export_patient_appointments(r.engine, p, buf, sizeof buf, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_fhir_export_waitlist(r.engine, r.cardiology, NULL, 64, &n), HY_NULL_PARAMETER);
    hy_engine_free(r.engine);
}

TEST_MAIN_BEGIN
    RUN(test_export_find_hold_book_cancel);
    RUN(test_bad_fhir_input_is_an_error);
    RUN(test_fhir_hold_refused_outputs_leave_the_slot_free);
    RUN(test_fhir_book_refused_outputs_book_nothing);
    RUN(test_fhir_cancel_refused_outputs_cancel_nothing);
    RUN(test_fhir_import_csv_refused_outputs_publish_nothing);
    RUN(test_fhir_import_bundle_refused_outputs_publish_nothing);
    RUN(test_export_schedule_patient_waitlist);
TEST_MAIN_END
