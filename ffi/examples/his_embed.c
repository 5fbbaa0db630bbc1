/*
 * his_embed.c — embedding haoyuan in a hospital information system (HIS), top to bottom.
 *
 * A HIS owns the engine for its region: it opens one engine, registers its hospital, publishes
 * tomorrow's clinic sessions, books patients from its channels, cancels when they call, books
 * for the regional platform through FHIR, and forwards the engine's events (JSON lines) to
 * whatever notifies patients and audits changes.
 *
 * Build and run (as `make test` does):
 *   cargo build -p haoyuan-ffi
 *   cc -Iffi/include ffi/examples/his_embed.c -Ltarget/debug -lhaoyuan \
 *      -Wl,-rpath,$PWD/target/debug -o his_embed && ./his_embed
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haoyuan.h"

/* Every call returns a hy_result; on failure the detail is one call away. A real HIS would log
 * and carry on; the example stops. */
static void check(hy_result rc, const char *what) {
    if (rc == HY_OK) return;
    char msg[512];
    size_t n = 0;
    hy_last_error_message(msg, sizeof msg, &n);
    fprintf(stderr, "%s failed (code %u): %s\n", what, (unsigned)rc, msg);
    exit(1);
}

static int print_event(void *userdata, uint64_t seq, const char *json, size_t json_len) {
    (void)userdata;
    (void)json_len;
    printf("  event %llu: %s\n", (unsigned long long)seq, json);
    return 0; /* keep going */
}

int main(void) {
    /* The header and the library must agree. */
    if (strcmp(hy_version(), HY_VERSION) != 0) {
        fprintf(stderr, "header %s but library %s\n", HY_VERSION, hy_version());
        return 1;
    }

    /* 1. Open an engine. The policy is the region's rules (JSON or TOML; NULL = defaults):
     *    here holds last 5 minutes instead of 10. A manual clock makes the example
     *    reproducible; a HIS would use hy_engine_new() (system clock) and call hy_engine_tick()
     *    about once a second. */
    const int32_t china = 8 * 3600;
    hy_date today, tomorrow;
    check(hy_date_parse("2026-11-23", &today), "date");
    check(hy_date_parse("2026-11-24", &tomorrow), "date");
    hy_timestamp nine_am;
    check(hy_timestamp_from_local(today, 9 * 60, china, &nine_am), "timestamp");
    hy_engine *engine = NULL;
    check(hy_engine_with_manual_clock("{\"hold\": {\"ttl_s\": 300}}", HY_POLICY_JSON, china, nine_am, &engine), "engine");

    /* 2. Register the hospital, a department and a doctor. */
    hy_institution_id hospital;
    hy_department_id paediatrics;
    hy_resource_id dr_chen;
    check(hy_engine_add_institution(engine, "Dongguan Children's Hospital", HY_TIER_TERTIARY, "Guancheng", &hospital), "institution");
    check(hy_engine_add_department(engine, hospital, "paediatrics", "Paediatrics", &paediatrics), "department");
    check(hy_engine_add_resource(engine, paediatrics, HY_RESOURCE_DOCTOR, "Dr Chen", false, &dr_chen), "resource");

    /* Start listening before anything happens that the HIS must forward. */
    hy_subscription *events = NULL;
    check(hy_engine_subscribe(engine, &events), "subscribe");

    /* 3. Publish tomorrow morning: eight 30-minute segments of 4 places, in one call. */
    hy_slot_spec morning[8];
    for (int i = 0; i < 8; i++) {
        morning[i].resource = dr_chen;
        morning[i].date = tomorrow;
        morning[i].start_min = (uint16_t)(8 * 60 + 30 * i);
        morning[i].end_min = (uint16_t)(8 * 60 + 30 * (i + 1));
        morning[i].capacity = 4;
    }
    hy_slot_id first_slot;
    check(hy_engine_publish_slots(engine, morning, 8, &first_slot), "publish");
    printf("published slots %u..%u for tomorrow\n", first_slot, first_slot + 7);

    /* 4. A parent books from WeChat: find the patient by card (register on first visit), list
     *    free slots, hold one while they pay, confirm. */
    hy_patient_id child;
    if (hy_engine_find_patient_by_card(engine, "e_health", "EH-2026-0001", &child) == HY_NOT_FOUND) {
        check(hy_engine_register_patient(engine, &child), "register");
        check(hy_engine_link_card(engine, child, "e_health", "EH-2026-0001"), "card");
    }
    hy_availability_query query;
    memset(&query, 0, sizeof query);
    query.department = paediatrics;
    query.resource = HY_NONE;
    query.institution = HY_NONE;
    query.date_from = tomorrow;
    query.date_to = tomorrow;
    hy_free_slot free_slots[16];
    size_t found = 0;
    check(hy_engine_find_free_slots(engine, &query, free_slots, 16, &found), "availability");
    printf("%zu free slots; the earliest has %u places\n", found, free_slots[0].free);

    hy_channel_id wechat;
    check(hy_engine_channel_id(engine, "wechat", &wechat), "channel");
    hy_request request;
    memset(&request, 0, sizeof request);
    request.patient = child;
    request.slot = free_slots[0].slot;
    request.channel = wechat;
    hy_booking booking;
    check(hy_engine_hold(engine, &request, &booking), "hold");
    printf("held booking %llu until %lld\n", (unsigned long long)booking.id, (long long)booking.expires_at);
    check(hy_engine_confirm(engine, booking.id, &booking), "confirm");
    printf("booking %llu is %s\n", (unsigned long long)booking.id, booking.state == HY_BOOKING_BOOKED ? "booked" : "?");

    /* A second booking for the same department and day is refused by the per-patient limit:
     * an error code and a message, never a crash. */
    request.slot = free_slots[1].slot;
    hy_booking second;
    hy_result rc = hy_engine_book(engine, &request, &second);
    char why[256];
    size_t why_len;
    hy_last_error_message(why, sizeof why, &why_len);
    printf("second booking: code %u (%s)\n", (unsigned)rc, why);

    /* 5. The parent calls to cancel (free until 15:00 today). */
    check(hy_engine_cancel(engine, booking.id, &booking), "cancel");
    printf("booking %llu is %s\n", (unsigned long long)booking.id, booking.state == HY_BOOKING_CANCELLED ? "cancelled" : "?");

    /* 6. The regional platform speaks HL7 FHIR: its $book takes the JSON it received and hands
     *    back the booked Appointment as a string the library allocated (no buffer of ours can
     *    be too small once the place is taken); free it with hy_string_free. */
    char fhir_request[256];
    snprintf(fhir_request, sizeof fhir_request,
             "{\"slot\": \"Slot/slot-%u\", \"patient\": \"Patient/patient-%u\", \"channel\": \"web\"}",
             free_slots[2].slot, child);
    char *appointment = NULL;
    size_t appointment_len = 0;
    check(hy_engine_fhir_book(engine, fhir_request, &appointment, &appointment_len), "fhir book");
    printf("FHIR Appointment (%zu bytes): %.60s...\n", appointment_len, appointment);
    hy_string_free(appointment);

    /* 7. Forward the events: each is one JSON object; the callback runs on this thread. */
    printf("events:\n");
    size_t delivered = 0;
    check(hy_subscription_dispatch(events, print_event, NULL, 0, &delivered), "events");
    printf("%zu events forwarded\n", delivered);

    /* 8. Close: free the subscription and the engine (both accept NULL). */
    hy_subscription_free(events);
    hy_engine_free(engine);
    return 0;
}
