/*
 * HaoyuanJna.java — calling libhaoyuan from Java through JNA (https://github.com/java-native-access/jna),
 * no JNI code to compile. One file: the library interface, the structs, and a run that opens an
 * engine, publishes two slots of one place, books, sees a second patient refused, cancels, books
 * again, books through FHIR (a library-allocated string, freed with hy_string_free) and reads
 * the events through a callback. Every result is checked; any surprise exits 1.
 *
 * The marshalling rules (bool fields as byte, size_t, who frees what) are in ffi/README.md,
 * "Other languages". Run by ci/java-jna.sh:
 *
 *   java -cp /usr/share/java/jna.jar -Djna.library.path=target/release \
 *        ffi/examples/java/HaoyuanJna.java VERSION hy_request=24 hy_booking=80 ...
 *
 * VERSION is HY_VERSION from the header; the NAME=SIZE arguments are sizeof() of the C structs,
 * which ci/java-jna.sh prints with the C compiler, so a Java struct that drifts from the header
 * fails here.
 */
import com.sun.jna.Callback;
import com.sun.jna.IntegerType;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.ptr.ByReference;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import com.sun.jna.ptr.ShortByReference;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

public class HaoyuanJna {

    // ---- The C types -------------------------------------------------------------------

    /** size_t: 8 bytes on 64-bit platforms, 4 on 32-bit ones. */
    public static class SizeT extends IntegerType {
        public SizeT() { this(0); }
        public SizeT(long value) { super(Native.SIZE_T_SIZE, value, true); }
    }

    /** size_t *: an output length. */
    public static class SizeTByReference extends ByReference {
        public SizeTByReference() { super(Native.SIZE_T_SIZE); }
        public long getValue() {
            return Native.SIZE_T_SIZE == 8 ? getPointer().getLong(0) : getPointer().getInt(0) & 0xffffffffL;
        }
    }

    /** hy_request. `bool follow_up` is one byte: a Java byte, never a boolean (JNA makes that 4). */
    @Structure.FieldOrder({"patient", "slot", "channel", "follow_up", "referral"})
    public static class HyRequest extends Structure {
        public int patient;     // hy_patient_id (uint32_t)
        public int slot;        // hy_slot_id (uint32_t)
        public short channel;   // hy_channel_id (uint16_t)
        public byte follow_up;  // bool: 0 or 1
        public long referral;   // hy_referral_id (uint64_t), 0 = none
    }

    /** hy_booking (written by the library: pass it, JNA reads it back after the call). */
    @Structure.FieldOrder({"id", "patient", "slot", "department", "date", "channel", "state", "pool",
                           "referral", "offer", "created_at", "expires_at", "starts_at"})
    public static class HyBooking extends Structure {
        public long id;
        public int patient;
        public int slot;
        public int department;
        public int date;        // hy_date: days since 1970-01-01
        public short channel;
        public int state;       // hy_booking_state (uint32_t)
        public int pool;        // hy_pool (uint32_t)
        public long referral;
        public long offer;
        public long created_at; // hy_timestamp: Unix seconds
        public long expires_at;
        public long starts_at;
    }

    /** hy_slot_spec; an array of them is one contiguous block (Structure.toArray). */
    @Structure.FieldOrder({"resource", "date", "start_min", "end_min", "capacity"})
    public static class HySlotSpec extends Structure {
        public int resource;
        public int date;
        public short start_min;
        public short end_min;
        public short capacity;
    }

    /** hy_slot_info. `bool closed` is a byte. */
    @Structure.FieldOrder({"id", "resource", "department", "institution", "date", "start_min", "end_min",
                           "capacity", "pool_places", "pool_taken", "closed", "starts_at", "ends_at"})
    public static class HySlotInfo extends Structure {
        public int id;
        public int resource;
        public int department;
        public int institution;
        public int date;
        public short start_min;
        public short end_min;
        public short capacity;
        public short[] pool_places = new short[4];
        public short[] pool_taken = new short[4];
        public byte closed;
        public long starts_at;
        public long ends_at;
    }

    /** hy_event_callback. Runs on the thread that called hy_subscription_dispatch, before it returns. */
    public interface EventCallback extends Callback {
        int invoke(Pointer userdata, long seq, Pointer json, SizeT jsonLen);
    }

    // ---- The calls this example needs (names and argument order as in haoyuan.h) -------------

    public interface Haoyuan extends Library {
        int HY_OK = 0, HY_SLOT_FULL = 16;
        int HY_POLICY_JSON = 0, HY_TIER_COMMUNITY = 1, HY_RESOURCE_DOCTOR = 0;
        int HY_BOOKING_BOOKED = 1, HY_BOOKING_CANCELLED = 5, HY_POOL_GENERAL = 0;

        String hy_version();
        int hy_last_error_message(byte[] buf, SizeT len, SizeTByReference written);
        void hy_string_free(Pointer s);
        int hy_date_from_ymd(int year, int month, int day, IntByReference dateOut);
        int hy_timestamp_from_local(int date, short minute, int utcOffsetS, LongByReference out);
        int hy_engine_with_manual_clock(String policy, int format, int utcOffsetS, long start, PointerByReference engineOut);
        void hy_engine_free(Pointer engine);
        int hy_engine_add_institution(Pointer engine, String name, int tier, String district, IntByReference idOut);
        int hy_engine_add_department(Pointer engine, int institution, String specialty, String name, IntByReference idOut);
        int hy_engine_add_resource(Pointer engine, int department, int kind, String name, byte expert, IntByReference idOut);
        int hy_engine_channel_id(Pointer engine, String name, ShortByReference idOut);
        int hy_engine_register_patient(Pointer engine, IntByReference idOut);
        int hy_engine_publish_slots(Pointer engine, HySlotSpec specs, SizeT len, IntByReference firstOut);
        int hy_engine_slot(Pointer engine, int slot, HySlotInfo infoOut);
        int hy_engine_book(Pointer engine, HyRequest request, HyBooking bookingOut);
        int hy_engine_cancel(Pointer engine, long booking, HyBooking bookingOut);
        int hy_engine_fhir_book(Pointer engine, String json, PointerByReference jsonOut, SizeTByReference lenOut);
        int hy_engine_subscribe(Pointer engine, PointerByReference subscriptionOut);
        int hy_subscription_dispatch(Pointer subscription, EventCallback callback, Pointer userdata,
                                     SizeT maxEvents, SizeTByReference deliveredOut);
        void hy_subscription_free(Pointer subscription);
    }

    // Strings cross as NUL-terminated UTF-8 whatever the platform's default charset is.
    static final Haoyuan HY = Native.load("haoyuan", Haoyuan.class,
            Map.of(Library.OPTION_STRING_ENCODING, "UTF-8"));

    // ---- Checks ------------------------------------------------------------------------------

    static String lastError() {
        byte[] buf = new byte[1024];
        SizeTByReference n = new SizeTByReference();
        if (HY.hy_last_error_message(buf, new SizeT(buf.length), n) != Haoyuan.HY_OK) return "(none)";
        return new String(buf, 0, (int) n.getValue(), StandardCharsets.UTF_8);
    }

    static void check(boolean ok, String what) {
        if (!ok) throw new IllegalStateException(what + " (last error: " + lastError() + ")");
    }

    static void ok(int rc, String what) {
        check(rc == Haoyuan.HY_OK, what + " returned " + rc);
    }

    public static void main(String[] args) {
        try {
            run(args);
        } catch (RuntimeException e) {
            System.err.println("HaoyuanJna: FAIL " + e.getMessage());
            System.exit(1);
        }
        System.out.println("HaoyuanJna: ok");
    }

    static void run(String[] args) {
        check(args.length >= 1, "usage: HaoyuanJna VERSION [struct=size ...]");
        System.out.println("library " + HY.hy_version() + " (expected " + args[0] + ")");
        check(args[0].equals(HY.hy_version()), "hy_version() is the header's HY_VERSION");
        Map<String, Integer> javaSizes = new HashMap<>();
        javaSizes.put("hy_request", new HyRequest().size());
        javaSizes.put("hy_booking", new HyBooking().size());
        javaSizes.put("hy_slot_spec", new HySlotSpec().size());
        javaSizes.put("hy_slot_info", new HySlotInfo().size());
        for (int i = 1; i < args.length; i++) {
            String[] kv = args[i].split("=");
            Integer size = javaSizes.get(kv[0]);
            check(size != null && size == Integer.parseInt(kv[1]),
                  "sizeof(" + kv[0] + ") is " + kv[1] + " in C, " + size + " in Java");
        }

        // 16:00 on 2026-11-23 in China; the visit day, the 25th, is open for booking.
        final int china = 8 * 3600;
        IntByReference today = new IntByReference(), visitDay = new IntByReference();
        LongByReference start = new LongByReference(), nineAm = new LongByReference();
        ok(HY.hy_date_from_ymd(2026, 11, 23, today), "hy_date_from_ymd");
        ok(HY.hy_date_from_ymd(2026, 11, 25, visitDay), "hy_date_from_ymd");
        ok(HY.hy_timestamp_from_local(today.getValue(), (short) (16 * 60), china, start), "hy_timestamp_from_local");
        ok(HY.hy_timestamp_from_local(visitDay.getValue(), (short) (9 * 60), china, nineAm), "hy_timestamp_from_local");

        PointerByReference engineOut = new PointerByReference();
        ok(HY.hy_engine_with_manual_clock(null, Haoyuan.HY_POLICY_JSON, china, start.getValue(), engineOut), "engine");
        Pointer engine = engineOut.getValue();
        Pointer events = null;
        try {
            IntByReference clinic = new IntByReference(), gp = new IntByReference(), drWu = new IntByReference();
            ShortByReference app = new ShortByReference();
            ok(HY.hy_engine_add_institution(engine, "莞城社区卫生服务中心", Haoyuan.HY_TIER_COMMUNITY, "Guancheng", clinic), "institution");
            ok(HY.hy_engine_add_department(engine, clinic.getValue(), "general_practice", "全科", gp), "department");
            ok(HY.hy_engine_add_resource(engine, gp.getValue(), Haoyuan.HY_RESOURCE_DOCTOR, "吴医生", (byte) 0, drWu), "resource");
            ok(HY.hy_engine_channel_id(engine, "app", app), "channel");

            PointerByReference eventsOut = new PointerByReference();
            ok(HY.hy_engine_subscribe(engine, eventsOut), "subscribe");
            events = eventsOut.getValue();

            // Two 30-minute slots of one place from 09:00, in one call.
            HySlotSpec[] specs = (HySlotSpec[]) new HySlotSpec().toArray(2);
            for (int i = 0; i < 2; i++) {
                specs[i].resource = drWu.getValue();
                specs[i].date = visitDay.getValue();
                specs[i].start_min = (short) (9 * 60 + 30 * i);
                specs[i].end_min = (short) (9 * 60 + 30 * i + 30);
                specs[i].capacity = 1;
            }
            IntByReference first = new IntByReference();
            ok(HY.hy_engine_publish_slots(engine, specs[0], new SizeT(specs.length), first), "publish");
            int slotA = first.getValue(), slotB = slotA + 1;

            IntByReference ana = new IntByReference(), bo = new IntByReference();
            ok(HY.hy_engine_register_patient(engine, ana), "register");
            ok(HY.hy_engine_register_patient(engine, bo), "register");

            HyRequest request = new HyRequest();
            request.patient = ana.getValue();
            request.slot = slotA;
            request.channel = app.getValue();
            HyBooking booking = new HyBooking();
            ok(HY.hy_engine_book(engine, request, booking), "book");
            check(booking.id != 0 && booking.patient == ana.getValue() && booking.slot == slotA, "the booking is ana's in slot A");
            check(booking.state == Haoyuan.HY_BOOKING_BOOKED && booking.department == gp.getValue(), "booked in GP");
            check(booking.date == visitDay.getValue() && booking.starts_at == nineAm.getValue(), "at 09:00 on the 25th");

            HySlotInfo info = new HySlotInfo();
            ok(HY.hy_engine_slot(engine, slotA, info), "slot");
            check(info.capacity == 1 && info.pool_taken[Haoyuan.HY_POOL_GENERAL] == 1 && info.closed == 0
                  && info.starts_at == nineAm.getValue(), "slot A: its place taken");

            request.patient = bo.getValue();
            HyBooking refused = new HyBooking();
            int rc = HY.hy_engine_book(engine, request, refused);
            check(rc == Haoyuan.HY_SLOT_FULL && refused.id == 0, "bo refused with HY_SLOT_FULL, got " + rc);
            String why = lastError();
            check(why.contains("no free place"), "the message says why: " + why);
            System.out.println("second patient refused: " + why);

            HyBooking cancelled = new HyBooking();
            ok(HY.hy_engine_cancel(engine, booking.id, cancelled), "cancel");
            check(cancelled.id == booking.id && cancelled.state == Haoyuan.HY_BOOKING_CANCELLED, "cancelled");
            ok(HY.hy_engine_slot(engine, slotA, info), "slot");
            check(info.pool_taken[Haoyuan.HY_POOL_GENERAL] == 0, "slot A free again");
            HyBooking rebooked = new HyBooking();
            ok(HY.hy_engine_book(engine, request, rebooked), "book again");
            check(rebooked.patient == bo.getValue() && rebooked.state == Haoyuan.HY_BOOKING_BOOKED, "bo booked");

            // FHIR $book: the library allocates the Appointment; read it, then hy_string_free it.
            String fhir = String.format("{\"slot\": \"Slot/slot-%d\", \"patient\": \"Patient/patient-%d\", \"channel\": \"app\"}",
                                        slotB, ana.getValue());
            PointerByReference json = new PointerByReference();
            SizeTByReference jsonLen = new SizeTByReference();
            ok(HY.hy_engine_fhir_book(engine, fhir, json, jsonLen), "fhir book");
            String appointment;
            try {
                byte[] bytes = json.getValue().getByteArray(0, (int) jsonLen.getValue());
                appointment = new String(bytes, StandardCharsets.UTF_8);
            } finally {
                HY.hy_string_free(json.getValue());
            }
            check(appointment.contains("\"resourceType\":\"Appointment\"") && appointment.contains("\"status\":\"booked\""),
                  "a booked Appointment: " + appointment);

            // The events, one callback each: 3 bookings, 1 cancellation.
            int[] booked = {0}, cancelledEvents = {0};
            EventCallback callback = (userdata, seq, text, len) -> {
                String event = new String(text.getByteArray(0, len.intValue()), StandardCharsets.UTF_8);
                if (event.contains("\"type\":\"booked\"")) booked[0]++;
                if (event.contains("\"type\":\"cancelled\"")) cancelledEvents[0]++;
                return 0;
            };
            SizeTByReference delivered = new SizeTByReference();
            ok(HY.hy_subscription_dispatch(events, callback, null, new SizeT(0), delivered), "dispatch");
            check(booked[0] == 3 && cancelledEvents[0] == 1,
                  "events: " + booked[0] + " booked, " + cancelledEvents[0] + " cancelled of " + delivered.getValue());
            System.out.printf("booked %d, cancelled it, booked %d; FHIR booked slot %d; %d events%n",
                              booking.id, rebooked.id, slotB, delivered.getValue());
        } finally {
            HY.hy_subscription_free(events);
            HY.hy_engine_free(engine);
        }
    }
}
