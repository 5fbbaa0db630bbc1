/*
 * consumer.c — a program of a hospital system built against an installed haoyuan and nothing
 * else (tests/install/run.sh builds it with `pkg-config --cflags --libs haoyuan`, and again
 * statically with `pkg-config --static --libs haoyuan`). It checks that the header and the
 * library it got agree on the version, then publishes a slot of one place, books it, sees a
 * second patient refused, cancels and books again. Any unexpected result exits 1.
 *
 * tests/install/consumer.cpp is the same program in C++ (the CMake consumer); keep the two alike.
 */
#include <haoyuan.h>

#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            char msg_[512];                                                                \
            size_t n_ = 0;                                                                 \
            if (hy_last_error_message(msg_, sizeof msg_, &n_) != HY_OK) msg_[0] = 0;       \
            fprintf(stderr, "consumer.c:%d: FAIL %s (last error: %s)\n", __LINE__, #cond, msg_); \
            failures++;                                                                    \
            goto done;                                                                     \
        }                                                                                  \
    } while (0)

int main(void) {
    hy_engine *engine = NULL;
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", HY_VERSION_MAJOR, HY_VERSION_MINOR, HY_VERSION_PATCH);
    printf("header %s, library %s\n", HY_VERSION, hy_version());
    CHECK(strcmp(hy_version(), expected) == 0);
    CHECK(strcmp(hy_version(), HY_VERSION) == 0);

    /* 16:00 on Monday 2026-11-23 in China; the visit day is the 25th (its booking window is
     * open: public release 7 days ahead). */
    const int32_t china = 8 * 3600;
    hy_date today, visit_day;
    hy_timestamp start;
    CHECK(hy_date_from_ymd(2026, 11, 23, &today) == HY_OK);
    CHECK(hy_date_from_ymd(2026, 11, 25, &visit_day) == HY_OK);
    CHECK(hy_timestamp_from_local(today, 16 * 60, china, &start) == HY_OK);
    CHECK(hy_engine_with_manual_clock(NULL, HY_POLICY_JSON, china, start, &engine) == HY_OK);

    hy_institution_id clinic;
    hy_department_id gp;
    hy_resource_id dr_wu;
    hy_channel_id app;
    CHECK(hy_engine_add_institution(engine, "Guancheng Community Clinic", HY_TIER_COMMUNITY, "Guancheng", &clinic) == HY_OK);
    CHECK(hy_engine_add_department(engine, clinic, "general_practice", "General practice", &gp) == HY_OK);
    CHECK(hy_engine_add_resource(engine, gp, HY_RESOURCE_DOCTOR, "Dr Wu", false, &dr_wu) == HY_OK);
    CHECK(hy_engine_channel_id(engine, "app", &app) == HY_OK);

    hy_slot_spec spec = {0};
    spec.resource = dr_wu;
    spec.date = visit_day;
    spec.start_min = 9 * 60;
    spec.end_min = 9 * 60 + 30;
    spec.capacity = 1;
    hy_slot_id slot = 0;
    CHECK(hy_engine_publish_slots(engine, &spec, 1, &slot) == HY_OK);
    CHECK(slot != 0);

    hy_patient_id ana, bo;
    CHECK(hy_engine_register_patient(engine, &ana) == HY_OK);
    CHECK(hy_engine_register_patient(engine, &bo) == HY_OK);

    hy_request request = {0};
    request.patient = ana;
    request.slot = slot;
    request.channel = app;
    hy_booking booking;
    CHECK(hy_engine_book(engine, &request, &booking) == HY_OK);
    CHECK(booking.id != 0 && booking.patient == ana && booking.slot == slot);
    CHECK(booking.state == HY_BOOKING_BOOKED && booking.department == gp && booking.date == visit_day);

    hy_slot_info info;
    CHECK(hy_engine_slot(engine, slot, &info) == HY_OK);
    CHECK(info.capacity == 1 && info.pool_taken[HY_POOL_GENERAL] == 1 && !info.closed);

    /* The one place is taken: the second patient is refused, with a message. */
    request.patient = bo;
    hy_booking refused;
    memset(&refused, 0, sizeof refused);
    CHECK(hy_engine_book(engine, &request, &refused) == HY_SLOT_FULL);
    CHECK(refused.id == 0); /* outputs are written only on success */
    char why[256];
    size_t why_len = 0;
    CHECK(hy_last_error_message(why, sizeof why, &why_len) == HY_OK && why_len > 0);
    printf("second patient refused: %s\n", why);

    hy_booking cancelled;
    CHECK(hy_engine_cancel(engine, booking.id, &cancelled) == HY_OK);
    CHECK(cancelled.id == booking.id && cancelled.state == HY_BOOKING_CANCELLED);
    CHECK(hy_engine_slot(engine, slot, &info) == HY_OK);
    CHECK(info.pool_taken[HY_POOL_GENERAL] == 0);

    /* The place is free again. */
    hy_booking rebooked;
    CHECK(hy_engine_book(engine, &request, &rebooked) == HY_OK);
    CHECK(rebooked.patient == bo && rebooked.state == HY_BOOKING_BOOKED && rebooked.id != booking.id);
    printf("booked %llu, cancelled it, booked %llu\n", (unsigned long long)booking.id,
           (unsigned long long)rebooked.id);

done:
    hy_engine_free(engine);
    if (failures == 0) printf("consumer.c: ok\n");
    return failures == 0 ? 0 : 1;
}
