using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PilotBench.Engine.Merging;

/// <summary>
/// A test_id as a dictionary key without keeping its string where that loses nothing. Every id
/// has exactly one of three forms, so two ids are equal exactly when their keys are:
/// a GUID in its canonical form (lowercase "D", what the engine's writers make) is held as its 16
/// bytes; any other id of at most 16 ASCII characters (16 hex digits, <c>run-123-7</c>) as those
/// bytes; any other id (longer, or not ASCII) as its string. The first two need no string and
/// are hashed and compared as 16 bytes and a length: what a merge's first pass does for every
/// increment row.
/// </summary>
internal readonly struct TestIdKey : IEquatable<TestIdKey>
{
    /// <summary>Longest id held as its bytes (the width of a GUID).</summary>
    public const int MaxInlineLength = 16;

    private const int NullForm = 0, GuidForm = 1, TextForm = 2, InlineForm = 3; // InlineForm + the id's length

    /// <summary>The GUID's bytes, an inline id's bytes (zero-padded), or a hash of a text id.</summary>
    private readonly Guid _bits;

    private readonly int _form;

    private TestIdKey(Guid bits, string? text, int form)
    {
        _bits = bits;
        Text = text;
        _form = form;
    }

    /// <summary>The id when it is held as its string (neither a canonical GUID nor a short ASCII id); null otherwise.</summary>
    public string? Text { get; }

    public bool IsNull => _form == NullForm;

    /// <summary>Whether the id is a GUID in its canonical form (<see cref="Guid"/> is then its value).</summary>
    public bool IsCanonicalGuid => _form == GuidForm;

    /// <summary>The GUID of a canonical GUID id (default for other ids).</summary>
    public Guid Guid => _form == GuidForm ? _bits : default;

    public static TestIdKey Null => default;

    public static TestIdKey From(ReadOnlySpan<char> id)
    {
        if (TryCanonicalGuid(id, out var guid)) return new TestIdKey(guid, null, GuidForm);
        if (TryInline(id, out var bits)) return new TestIdKey(bits, null, InlineForm + id.Length);
        return OfText(id.ToString());
    }

    /// <summary>
    /// The key of the id whose UTF-8 bytes are <paramref name="utf8"/> (as decoding them to a
    /// string first would give): a canonical GUID and an inline id are ASCII, so only ASCII bytes
    /// are taken as one; any other bytes are decoded (invalid UTF-8 throws, as the reader's strings do).
    /// </summary>
    public static TestIdKey From(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length == 36 && TryCanonicalGuid(utf8, out var guid)) return new TestIdKey(guid, null, GuidForm);
        if (utf8.Length <= MaxInlineLength && System.Text.Ascii.IsValid(utf8))
        {
            Guid bits = default;
            if (utf8.Length > 0) Unsafe.CopyBlockUnaligned(ref Unsafe.As<Guid, byte>(ref bits), ref MemoryMarshal.GetReference(utf8), (uint)utf8.Length);
            return new TestIdKey(bits, null, InlineForm + utf8.Length);
        }
        return OfText(Format.FastColumnReader.StrictUtf8.GetString(utf8));
    }

    public static TestIdKey From(string? id) => id is null ? Null : From(id.AsSpan());

    private static TestIdKey OfText(string text)
    {
        var hash = Format.XxHash64.Hash(MemoryMarshal.AsBytes(text.AsSpan()));
        return new TestIdKey(new Guid(unchecked((int)hash), (short)(hash >> 32), (short)(hash >> 48), 0, 0, 0, 0, 0, 0, 0, 0), text, TextForm);
    }

    /// <summary>An id of at most <see cref="MaxInlineLength"/> ASCII characters as its bytes.</summary>
    private static bool TryInline(ReadOnlySpan<char> id, out Guid bits)
    {
        bits = default;
        if (id.Length > MaxInlineLength || !System.Text.Ascii.IsValid(id)) return false;
        ref byte bytes = ref Unsafe.As<Guid, byte>(ref bits);
        for (int i = 0; i < id.Length; i++) Unsafe.Add(ref bytes, i) = (byte)id[i];
        return true;
    }

    /// <summary>The id's text (empty for a null id).</summary>
    public override string ToString()
    {
        if (_form >= InlineForm)
        {
            var bits = _bits;
            return System.Text.Encoding.ASCII.GetString(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<Guid, byte>(ref bits), _form - InlineForm));
        }
        return _form switch { GuidForm => _bits.ToString("D"), TextForm => Text!, _ => "" };
    }

    public bool Equals(TestIdKey other) =>
        _form == other._form && _bits == other._bits && (_form != TextForm || string.Equals(Text, other.Text, StringComparison.Ordinal));

    public override bool Equals(object? obj) => obj is TestIdKey other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_bits, _form);

    /// <summary>A hash of the key for <see cref="TestIdIndex"/>'s table: its 16 bytes and form, mixed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Hash64()
    {
        ref byte bytes = ref Unsafe.As<Guid, byte>(ref Unsafe.AsRef(in _bits));
        ulong a = Unsafe.ReadUnaligned<ulong>(ref bytes);
        ulong b = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref bytes, 8));
        ulong h = (a * 0x9E3779B97F4A7C15UL) ^ (b * 0xC2B2AE3D27D4EB4FUL) ^ ((ulong)(uint)_form * 0x165667B19E3779F9UL);
        return h ^ (h >> 29);
    }

    // The canonical form, parsed by hand: this runs for every row of every increment a merge reads
    // (pass one), where Guid.TryParseExact + TryFormat + a comparison cost a visible share of a
    // consolidation's CPU (framework code the module's ReadyToRun images do not hold, re-compiled
    // with PGO probes while it runs). Exactly the strings that Guid.TryParseExact(id, "D") accepts
    // and Guid.ToString("D") gives back unchanged: 8-4-4-4-12 lowercase hex digits with hyphens
    // (tests/units/Merging/TestIdIndexTests.cs compares the two on every single-character change).
    private static bool TryCanonicalGuid(ReadOnlySpan<char> id, out Guid guid)
    {
        guid = default;
        if (id.Length != 36) return false;
        Span<byte> ascii = stackalloc byte[36];
        for (int i = 0; i < 36; i++)
        {
            char c = id[i];
            if (c > 0x7F) return false;
            ascii[i] = (byte)c;
        }
        return TryCanonicalGuid(ascii, out guid);
    }

    private static bool TryCanonicalGuid(ReadOnlySpan<byte> id, out Guid guid)
    {
        guid = default;
        if (id.Length != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-') return false;
        // Any byte that is not a lowercase hex digit makes its pair negative (bit 31 set).
        int d = Pair(id, 19), e = Pair(id, 21), f = Pair(id, 24), g = Pair(id, 26);
        int h = Pair(id, 28), i = Pair(id, 30), j = Pair(id, 32), k = Pair(id, 34);
        int a1 = Pair(id, 0), a2 = Pair(id, 2), a3 = Pair(id, 4), a4 = Pair(id, 6);
        int b1 = Pair(id, 9), b2 = Pair(id, 11), c1 = Pair(id, 14), c2 = Pair(id, 16);
        if ((d | e | f | g | h | i | j | k | a1 | a2 | a3 | a4 | b1 | b2 | c1 | c2) < 0) return false;
        guid = new Guid(
            (uint)(a1 << 24 | a2 << 16 | a3 << 8 | a4), (ushort)(b1 << 8 | b2), (ushort)(c1 << 8 | c2),
            (byte)d, (byte)e, (byte)f, (byte)g, (byte)h, (byte)i, (byte)j, (byte)k);
        return true;
    }

    /// <summary>The byte of two lowercase hex digits at <paramref name="at"/>, or a negative number.</summary>
    private static int Pair(ReadOnlySpan<byte> id, int at) => HexDigit(id[at]) << 4 | HexDigit(id[at + 1]);

    private static int HexDigit(byte c)
    {
        if ((uint)(c - '0') <= 9) return c - '0';
        if ((uint)(c - 'a') <= 5) return c - 'a' + 10;
        return int.MinValue >> 4; // negative after << 4 and | with any digit
    }
}

/// <summary>
/// test_id -> where its winning increment row is (file, row) and its written_at: the compact
/// state of a merge's first pass (about 64 bytes per id of any form; no other column is kept).
/// </summary>
internal sealed class TestIdIndex
{
    /// <summary>written_at ticks of a row without written_at.</summary>
    public const long NoTime = long.MinValue;

    private readonly KeyMap _keys = new();

    public readonly record struct Entry(int File, int Row, long WrittenAtTicks);

    public int Count => _keys.Count;

    /// <summary>
    /// Room for about <paramref name="ids"/> ids without growing: growing a table of a million
    /// entries step by step allocates about twice its final size on the large object heap (and
    /// rehashes every entry at each step).
    /// </summary>
    public void Reserve(int ids) => _keys.Reserve(ids);

    public IEnumerable<string> Ids => _keys.Keys.Select(k => k.ToString());

    public static long Ticks(DateTime? value) => value is DateTime t ? t.Ticks : NoTime;

    /// <summary>The entry of <paramref name="key"/> (not null), added as default when absent.</summary>
    public ref Entry GetValueRefOrAddDefault(in TestIdKey key, out bool exists) => ref _keys.GetValueRefOrAddDefault(key, out exists);

    /// <summary>A hint that <paramref name="key"/> is looked up soon (see <see cref="KeyMap.Prefetch"/>).</summary>
    public void Prefetch(in TestIdKey key)
    {
        if (!key.IsNull) _keys.Prefetch(key);
    }

    public bool TryGetValue(in TestIdKey key, out Entry entry)
    {
        if (key.IsNull)
        {
            entry = default;
            return false;
        }
        return _keys.TryGetValue(key, out entry);
    }

    /// <summary>
    /// Key -> entry: open addressing with linear probing, each slot holding its key and entry side
    /// by side (one cache miss per lookup in a table of a million ids, where Dictionary's buckets
    /// and entries cost two, and a string id a third), any capacity (a multiply-shift maps a hash
    /// to a slot), at most 3/4 full; a slot whose key is null is free (null ids are never added).
    /// Written per increment row in the merge's first pass, which runs on one thread: compiled
    /// optimized at once (a Dictionary over this engine's key is a framework instantiation that no
    /// ReadyToRun image holds, and ran unoptimized for much of a 1M-record merge: 0.36 s of its
    /// CPU in a trace).
    /// </summary>
    internal sealed class KeyMap
    {
        private struct Slot
        {
            public TestIdKey Key;
            public Entry Value;
        }

        private Slot[] _slots = new Slot[16];
        private int _count;

        public int Count => _count;

        public IEnumerable<TestIdKey> Keys
        {
            get
            {
                for (int i = 0; i < _slots.Length; i++)
                {
                    if (!_slots[i].Key.IsNull) yield return _slots[i].Key;
                }
            }
        }

        /// <summary>Grows (once) to hold <paramref name="count"/> keys within the load limit.</summary>
        public void Reserve(int count)
        {
            if (count > _count && (long)count * 4 > (long)_slots.Length * 3) Resize((int)Math.Min(Array.MaxLength, (long)count * 4 / 3 + 1));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int SlotOf(in TestIdKey key, int length) => (int)(((key.Hash64() >> 32) * (ulong)(uint)length) >> 32);

        /// <summary>
        /// Asks the processor to bring <paramref name="key"/>'s first slot into the cache (a hint;
        /// no effect where there is no prefetch instruction). A table of a million ids is tens of
        /// megabytes: each lookup misses the cache, about 0.3 us here, and pass one looked up one
        /// id after the other. Prefetching a few rows ahead overlaps those misses.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public unsafe void Prefetch(in TestIdKey key)
        {
            if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
            var slots = _slots;
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(Unsafe.AsPointer(ref slots[SlotOf(key, slots.Length)]));
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public ref Entry GetValueRefOrAddDefault(in TestIdKey key, out bool exists)
        {
            if (key.IsNull) throw new ArgumentException("A null test id is not a key.", nameof(key));
            if ((long)(_count + 1) * 4 > (long)_slots.Length * 3) Resize(_slots.Length * 2);
            var slots = _slots;
            int i = SlotOf(key, slots.Length);
            while (true)
            {
                ref var slot = ref slots[i];
                if (slot.Key.IsNull)
                {
                    slot.Key = key;
                    slot.Value = default;
                    _count++;
                    exists = false;
                    return ref slot.Value;
                }
                if (slot.Key.Equals(key))
                {
                    exists = true;
                    return ref slot.Value;
                }
                if (++i == slots.Length) i = 0;
            }
        }

        public bool TryGetValue(in TestIdKey key, out Entry entry)
        {
            var slots = _slots;
            int i = SlotOf(key, slots.Length);
            while (true)
            {
                ref var slot = ref slots[i];
                if (slot.Key.IsNull) break;
                if (slot.Key.Equals(key))
                {
                    entry = slot.Value;
                    return true;
                }
                if (++i == slots.Length) i = 0;
            }
            entry = default;
            return false;
        }

        private void Resize(int length)
        {
            var old = _slots;
            var slots = new Slot[Math.Max(length, 16)];
            foreach (ref readonly var slot in old.AsSpan())
            {
                if (slot.Key.IsNull) continue;
                int i = SlotOf(slot.Key, slots.Length);
                while (!slots[i].Key.IsNull)
                {
                    if (++i == slots.Length) i = 0;
                }
                slots[i] = slot;
            }
            _slots = slots;
        }
    }
}
