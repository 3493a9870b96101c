//! String columns of mlsim's Parquet files, dictionary-encoded by hand.
//!
//! A sweep's names (chip, stack, dtype, ...) are a handful of values
//! repeated over millions of rows. The `parquet` crate's column writer
//! dictionary-encodes a string column by hashing every value it is given,
//! which cost a fifth of a sweep's time; here a row holds the name's index
//! in a [`Dictionary`] and a column chunk is written directly as the pages
//! the crate would write: a PLAIN dictionary page of the names the chunk
//! uses (in order of first appearance) and one RLE_DICTIONARY data page of
//! their indices, as runs (a sweep's names change every few thousand
//! rows). The chunk is spliced into the row group with the crate's
//! `append_column`, so the file's footer and page index stay the crate's.

use std::collections::HashMap;
use std::io::Write;

use bytes::Bytes;
use parquet::basic::{Compression, Encoding, PageType};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::Result;
use parquet::file::metadata::{ColumnChunkMetaData, OffsetIndexBuilder, PageEncodingStats};
use parquet::file::writer::{SerializedPageWriter, SerializedRowGroupWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// Every name a file's string columns hold, each once, by index.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dictionary {
    names: Vec<Bytes>,
    index: HashMap<Bytes, u32>,
}

impl Dictionary {
    /// The index of `name`, added if new.
    pub(crate) fn intern(&mut self, name: &[u8]) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = u32::try_from(self.names.len()).expect("fewer than 2^32 distinct names");
        let name = Bytes::copy_from_slice(name);
        self.names.push(name.clone());
        self.index.insert(name, i);
        i
    }

    fn len(&self) -> usize {
        self.names.len()
    }
}

/// Values in Parquet's RLE/bit-packing hybrid, gathered as runs of equal
/// values.
#[derive(Debug, Default)]
struct Runs {
    runs: Vec<(u32, u32)>,
    values: usize,
}

/// A run at least this long is written as one RLE run; shorter ones are
/// bit-packed, 8 values a group (a column whose value changes every row,
/// a sweep's dtype, takes `bit width` bits a row, not two bytes).
const SHORTEST_RLE_RUN: u32 = 8;

impl Runs {
    fn push(&mut self, value: u32) {
        self.values += 1;
        match self.runs.last_mut() {
            Some((last, count)) if *last == value => *count += 1,
            _ => self.runs.push((value, 1)),
        }
    }

    /// The hybrid encoding at `bit_width`: an RLE run is its header (the
    /// count shifted left once, ULEB128) and its value in whole bytes,
    /// little-endian; a bit-packed run is its header (the count of 8-value
    /// groups shifted left once, plus 1) and the values, `bit_width` bits
    /// each, least significant bit first. Only the last group may be
    /// padded (a reader stops at the page's value count).
    fn encode(&self, bit_width: u8, out: &mut Vec<u8>) {
        let mut packed: Vec<u32> = Vec::new();
        for &(value, count) in &self.runs {
            let mut count = count;
            if count >= SHORTEST_RLE_RUN {
                // Complete the bit-packed values' last group from the run.
                let fill = ((8 - packed.len() % 8) % 8).min(count as usize);
                packed.extend(std::iter::repeat_n(value, fill));
                count -= fill as u32;
            }
            if count >= SHORTEST_RLE_RUN {
                bit_pack(&packed, bit_width, out);
                packed.clear();
                uleb128(u64::from(count) << 1, out);
                let width = usize::from(bit_width).div_ceil(8);
                out.extend_from_slice(&value.to_le_bytes()[..width]);
            } else {
                packed.extend(std::iter::repeat_n(value, count as usize));
            }
        }
        bit_pack(&packed, bit_width, out);
    }
}

/// One bit-packed run of `values` (padded with zeros to whole groups).
fn bit_pack(values: &[u32], bit_width: u8, out: &mut Vec<u8>) {
    if values.is_empty() {
        return;
    }
    let groups = values.len().div_ceil(8);
    uleb128(((groups as u64) << 1) | 1, out);
    let start = out.len();
    out.resize(start + groups * usize::from(bit_width), 0);
    let width = usize::from(bit_width);
    for (i, &v) in values.iter().enumerate() {
        for b in 0..width {
            if v >> b & 1 == 1 {
                let bit = i * width + b;
                out[start + bit / 8] |= 1 << (bit % 8);
            }
        }
    }
}

fn uleb128(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Bits that hold every index below `entries` (0 for a single entry, as
/// the crate writes it).
fn bit_width(entries: usize) -> u8 {
    let largest = entries.saturating_sub(1) as u64;
    (u64::BITS - largest.leading_zeros()) as u8
}

/// One string column chunk being gathered: the names it uses, their
/// indices, and (nullable) its definition levels.
pub(crate) struct NameChunk<'d> {
    dictionary: &'d Dictionary,
    /// For each dictionary index, its index in this chunk's dictionary
    /// page (`u32::MAX` until first used).
    local: Vec<u32>,
    /// The chunk's dictionary page, as dictionary indices.
    used: Vec<u32>,
    indices: Runs,
    levels: Option<Runs>,
}

impl<'d> NameChunk<'d> {
    pub(crate) fn new(dictionary: &'d Dictionary, nullable: bool) -> Self {
        Self {
            dictionary,
            local: vec![u32::MAX; dictionary.len()],
            used: Vec::new(),
            indices: Runs::default(),
            levels: nullable.then(Runs::default),
        }
    }

    /// The next rows: their names' indices and (nullable column) their
    /// definition levels, 0 where the row is null (its index unused).
    pub(crate) fn extend(&mut self, names: &[u32], defined: &[i16]) {
        for (r, &name) in names.iter().enumerate() {
            if let Some(levels) = &mut self.levels {
                let level = defined[r];
                levels.push(u32::from(level == 1));
                if level != 1 {
                    continue;
                }
            }
            let local = &mut self.local[name as usize];
            if *local == u32::MAX {
                *local = self.used.len() as u32;
                self.used.push(name);
            }
            self.indices.push(*local);
        }
    }

    /// Write the chunk (a dictionary page and one data page) as the row
    /// group's next column, `descr`.
    pub(crate) fn write<W: Write + Send>(
        self,
        descr: ColumnDescPtr,
        group: &mut SerializedRowGroupWriter<'_, W>,
    ) -> Result<()> {
        let rows = match &self.levels {
            Some(levels) => levels.values,
            None => self.indices.values,
        };
        // A row group holds at most `sweep_parquet::ROW_GROUP` rows.
        let too_many = |what: &str| {
            parquet::errors::ParquetError::General(format!(
                "{what} beyond 2^32 in one column chunk"
            ))
        };
        let rows_u32 = u32::try_from(rows).map_err(|_| too_many("rows"))?;
        let entries = u32::try_from(self.used.len()).map_err(|_| too_many("names"))?;
        // PLAIN byte arrays: a 4-byte little-endian length, then the bytes.
        let mut dictionary_page = Vec::new();
        for &name in &self.used {
            let name = &self.dictionary.names[name as usize];
            let len = u32::try_from(name.len()).map_err(|_| too_many("name bytes"))?;
            dictionary_page.extend_from_slice(&len.to_le_bytes());
            dictionary_page.extend_from_slice(name);
        }
        // A version 1 data page: the definition levels (RLE, bit width 1,
        // after their length in 4 bytes), then the indices' bit width in a
        // byte and the indices.
        let mut data_page = Vec::new();
        if let Some(levels) = &self.levels {
            let mut encoded = Vec::new();
            levels.encode(1, &mut encoded);
            let len = u32::try_from(encoded.len()).map_err(|_| too_many("level bytes"))?;
            data_page.extend_from_slice(&len.to_le_bytes());
            data_page.extend_from_slice(&encoded);
        }
        let width = bit_width(self.used.len());
        data_page.push(width);
        self.indices.encode(width, &mut data_page);

        let mut sink = TrackedWrite::new(Vec::new());
        let (dictionary_spec, data_spec) = {
            let mut pages = SerializedPageWriter::new(&mut sink);
            let size = dictionary_page.len();
            let dictionary_spec = pages.write_page(CompressedPage::new(
                Page::DictionaryPage {
                    buf: Bytes::from(dictionary_page),
                    num_values: entries,
                    encoding: Encoding::PLAIN,
                    is_sorted: false,
                },
                size,
            ))?;
            let size = data_page.len();
            let data_spec = pages.write_page(CompressedPage::new(
                Page::DataPage {
                    buf: Bytes::from(data_page),
                    num_values: rows_u32,
                    encoding: Encoding::RLE_DICTIONARY,
                    def_level_encoding: Encoding::RLE,
                    rep_level_encoding: Encoding::RLE,
                    statistics: None,
                },
                size,
            ))?;
            pages.close()?;
            (dictionary_spec, data_spec)
        };
        let chunk = Bytes::from(sink.into_inner()?);
        let size = |f: fn(&parquet::column::page::PageWriteSpec) -> usize| {
            (f(&dictionary_spec) + f(&data_spec)) as i64
        };
        let metadata = ColumnChunkMetaData::builder(descr)
            .set_compression(Compression::UNCOMPRESSED)
            .set_encodings(vec![
                Encoding::PLAIN,
                Encoding::RLE,
                Encoding::RLE_DICTIONARY,
            ])
            .set_page_encoding_stats(vec![
                PageEncodingStats {
                    page_type: PageType::DICTIONARY_PAGE,
                    encoding: Encoding::PLAIN,
                    count: 1,
                },
                PageEncodingStats {
                    page_type: PageType::DATA_PAGE,
                    encoding: Encoding::RLE_DICTIONARY,
                    count: 1,
                },
            ])
            .set_total_compressed_size(size(|s| s.compressed_size))
            .set_total_uncompressed_size(size(|s| s.uncompressed_size))
            .set_num_values(rows as i64)
            .set_dictionary_page_offset(Some(dictionary_spec.offset as i64))
            .set_data_page_offset(data_spec.offset as i64)
            .build()?;
        let mut offsets = OffsetIndexBuilder::new();
        offsets.append_row_count(rows as i64);
        offsets.append_offset_and_size(data_spec.offset as i64, data_spec.compressed_size as i32);
        group.append_column(
            &chunk,
            ColumnCloseResult {
                bytes_written: chunk.len() as u64,
                rows_written: rows as u64,
                metadata,
                bloom_filter: None,
                column_index: None,
                offset_index: Some(offsets.build()),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::parquet_columns::{
        Columns, Kind, Spec, read_row_group, schema, write_row_group,
    };
    use super::*;
    use parquet::file::properties::WriterProperties;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::file::writer::SerializedFileWriter;
    use std::path::PathBuf;
    use std::sync::Arc;

    /// String columns of these names, nullable or not.
    fn name_specs(columns: &[(&str, bool)]) -> Vec<Spec> {
        columns
            .iter()
            .map(|&(name, nullable)| Spec {
                name: name.into(),
                kind: Kind::Str,
                nullable,
            })
            .collect()
    }

    /// 300 names in `names` (9-bit indices), by their index there.
    fn three_hundred_names(names: &mut Dictionary) -> Vec<u32> {
        (0..300)
            .map(|i| names.intern(format!("name-{i}").as_bytes()))
            .collect()
    }

    /// `pieces` written as one row group to a temporary file.
    fn write_file(tag: &str, specs: &[Spec], pieces: &[Columns], names: &Dictionary) -> PathBuf {
        let path = std::env::temp_dir().join(format!("mlsim-{tag}-{}.parquet", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let props = Arc::new(WriterProperties::builder().build());
        let mut writer = SerializedFileWriter::new(file, schema(specs).unwrap(), props).unwrap();
        write_row_group(pieces, names, &mut writer).unwrap();
        writer.close().unwrap();
        path
    }

    /// The hybrid encoding by the format's definition (parquet-format,
    /// Encodings.md): RLE runs ULEB128(count << 1) then the value in
    /// ceil(bit width / 8) bytes; bit-packed runs ULEB128(groups << 1 | 1)
    /// then 8 values a group, least significant bit first.
    #[test]
    fn runs_encode_as_the_format_defines() {
        let mut runs = Runs::default();
        for v in [3, 3, 3, 1] {
            runs.push(v);
        }
        for _ in 0..200 {
            runs.push(2);
        }
        let mut out = Vec::new();
        runs.encode(2, &mut out);
        // 3 3 3 1 and four 2s make one bit-packed group (header 3):
        // 3,3,3,1 = 0b01_11_11_11 = 0x7f; 2,2,2,2 = 0b10_10_10_10 = 0xaa.
        // The other 196 2s: header 392 = 0x88 0x03, value 2 in a byte.
        assert_eq!(out, [3, 0x7f, 0xaa, 0x88, 0x03, 2]);
        // A value per row (a sweep's dtype): bit-packed only, the last
        // group padded with zeros.
        let mut alternating = Runs::default();
        for i in 0..10 {
            alternating.push(i % 2);
        }
        let mut out = Vec::new();
        alternating.encode(1, &mut out);
        assert_eq!(out, [5, 0b1010_1010, 0b0000_0010]);
        // Bit width 0 (a single name): the value takes no bytes.
        let mut single = Runs::default();
        for _ in 0..9 {
            single.push(0);
        }
        let mut out = Vec::new();
        single.encode(0, &mut out);
        assert_eq!(out, [18]);
    }

    /// Names written by hand read back through the crate's own decoder:
    /// long runs, a name per row, nulls, a column of nothing but nulls (an
    /// empty dictionary page), and 300 names (indices 9 bits wide, RLE
    /// values in 2 bytes), across two pieces of one row group.
    #[test]
    fn names_read_back_through_the_crates_decoder() {
        let specs = name_specs(&[
            ("runs", false),
            ("every_row", false),
            ("nullable", true),
            ("all_null", true),
        ]);
        let mut names = Dictionary::default();
        let many = three_hundred_names(&mut names);
        let rows = 2500;
        let want = |r: usize| {
            (
                many[(r / 700) % 300],
                many[(r * 7) % 300],
                (!r.is_multiple_of(3)).then_some(many[299 - (r / 10) % 300]),
            )
        };
        let mut pieces = vec![Columns::new(&specs), Columns::new(&specs)];
        for r in 0..rows {
            let (a, b, c) = want(r);
            let mut row = pieces[usize::from(r >= 1024)].batch(1);
            row.names([a]);
            row.names([b]);
            row.opt_names([c]);
            row.opt_names([None]);
            row.done();
        }
        let path = write_file("names", &specs, &pieces, &names);

        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let mut read = Dictionary::default();
        let back = read_row_group(&reader, 0, &specs, &mut read).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back.rows, rows);
        let text = |d: &Dictionary, i: u32| d.names[i as usize].clone();
        for r in 0..rows {
            let (a, b, c) = want(r);
            let got = back.name_at(r);
            assert_eq!(text(&read, got[0].unwrap()), text(&names, a), "row {r}");
            assert_eq!(text(&read, got[1].unwrap()), text(&names, b), "row {r}");
            assert_eq!(
                got[2].map(|i| text(&read, i)),
                c.map(|c| text(&names, c)),
                "row {r}"
            );
        }
    }

    /// A damaged data page whose indices point past its dictionary (the
    /// parquet crate's decoder panics on those) reads as an error, which
    /// `mlsim merge` reports naming the part, not as a panic.
    #[test]
    fn a_damaged_page_is_an_error_not_a_panic() {
        let specs = name_specs(&[("every_row", false)]);
        let mut names = Dictionary::default();
        // 9-bit indices: all ones (511) is past the dictionary's end.
        let many = three_hundred_names(&mut names);
        let mut rows = Columns::new(&specs);
        let mut batch = rows.batch(2048);
        batch.names((0..2048).map(|r| many[(r * 7) % 300]));
        batch.done();
        let path = write_file("damaged", &specs, &[rows], &names);
        // Set the second half of the data page's indices to all ones.
        let (start, len) = {
            let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
            let c = reader.metadata().row_group(0).column(0).clone();
            let start = usize::try_from(c.data_page_offset()).unwrap();
            let end = usize::try_from(c.dictionary_page_offset().unwrap()).unwrap()
                + usize::try_from(c.compressed_size()).unwrap();
            (start, end - start)
        };
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[start + len / 2..start + len].fill(0xff);
        std::fs::write(&path, &bytes).unwrap();

        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let read = read_row_group(&reader, 0, &specs, &mut Dictionary::default());
        std::fs::remove_file(&path).unwrap();
        let error = read.expect_err("a damaged page is an error").to_string();
        assert!(error.contains("do not decode"), "{error}");
    }

    #[test]
    fn bit_width_holds_every_index() {
        assert_eq!(bit_width(0), 0);
        assert_eq!(bit_width(1), 0);
        assert_eq!(bit_width(2), 1);
        assert_eq!(bit_width(3), 2);
        assert_eq!(bit_width(4), 2);
        assert_eq!(bit_width(5), 3);
        assert_eq!(bit_width(256), 8);
        assert_eq!(bit_width(257), 9);
    }
}
