/* HL7 FHIR R4 through C: export, $find/$hold/$book/$cancel, CSV roster import, and errors as
 * an OperationOutcome in hy_last_error_message. */
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
    CHECK_OK(hy_engine_fhir_hold(r.engine, req, buf, sizeof buf, &n));
    CHECK(strstr(buf, "\"status\":\"pending\"") != NULL);
    CHECK_OK(hy_engine_fhir_export_slot(r.engine, slot, buf, sizeof buf, &n));
    CHECK(strstr(buf, "\"status\":\"busy-tentative\"") != NULL);
    /* The one place is held: a second patient's $book is a conflict with the engine's code. */
    hy_patient_id q;
    CHECK_OK(hy_engine_register_patient(r.engine, &q));
    snprintf(req, sizeof req, "{\"slot\":\"Slot/slot-%u\",\"patient\":\"Patient/patient-%u\",\"channel\":\"wechat\"}", slot, q);
    buf[0] = 'x';
    CHECK_RC(hy_engine_fhir_book(r.engine, req, buf, sizeof buf, &n), HY_SLOT_FULL);
    CHECK(buf[0] == 'x'); /* nothing written on failure */
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
    CHECK_RC(hy_engine_fhir_hold(r.engine, "{\"slot\":\"Slot/slot-999\",\"patient\":\"Patient/patient-0\",\"typo\":1}", buf, sizeof buf, &n), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_fhir_cancel(r.engine, "{\"appointment\":\"Appointment/booking-77\"}", buf, sizeof buf, &n), HY_NOT_FOUND);
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

TEST_MAIN_BEGIN
    RUN(test_export_find_hold_book_cancel);
    RUN(test_bad_fhir_input_is_an_error);
TEST_MAIN_END
