//! Seeds a database with a large, consistent register for load tests (`bench/run.sh`):
//!
//! ```text
//! cargo run --release --example seed -- --properties 10000 --units-per-property 5 --tenancies 200000
//! ```
//!
//! It reads the same `ANZU_*` settings as the server (the database URL and the data key), applies the
//! migrations, and creates an admin, the village `BENCH`, one active landlord who owns every property, an
//! auditor of the village, the properties (`BENCH-000001`, ...), their units and tenancies with valid,
//! encrypted resident ID numbers. The denormalised counters (`units.active_tenants`,
//! `properties.active_tenants`, `properties.capacity`, `properties.unit_count`) and each village's next registration number agree with
//! the rows, so the server can go on from here. Rows go in with multi-row INSERTs inside large transactions. At
//! the end it writes a shell file of ids for the load script.
//!
//! A town (`bench/city.sh`): `--villages 100 --landlords-per-village 100 --properties 100000 --tenancies 2000000
//! --ended-every 2 --rated`. The first village (`BENCH`) then holds a tenth of the properties (a large village,
//! for the export), the others (`BENCHAAB`, `BENCHAAC`, ...) share the rest evenly; each village's properties
//! go round its landlords in turn, and seven in ten properties carry a rating (0 to 5 stars, some expired; no
//! inspection rows behind them). The load scripts' landlord is the first village's first landlord.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use clap::Parser;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use anzu::accounts::model::{MembershipStatus, UserRow};
use anzu::accounts::service::{insert_user_audited, new_user_row};
use anzu::auth::Role;
use anzu::config::Settings;
use anzu::crypto::{Binding, IdentityCipher};
use anzu::db::schema::{properties, tenancies, units, villages};
use anzu::db::{Db, DbConn};
use anzu::error::ApiError;
use anzu::ids::{local_date, new_id, now, today};
use anzu::registry::identity::{ResidentId, check_character, mask_document};
use anzu::registry::model::{
    IdType, PropertyKind, PropertyRow, PropertyStatus, TenancyRow, UnitKind, UnitRow, default_max_occupants,
};
use anzu::villages::model::VillageRow;

const VILLAGE_CODE: &str = "BENCH";
const ADMIN_EMAIL: &str = "bench-admin@example.cn";
const LANDLORD_EMAIL: &str = "bench-landlord@example.cn";
const AUDITOR_EMAIL: &str = "bench-auditor@example.cn";
/// Village codes are two to eight capital letters: `BENCH`, then `BENCH` and three more letters.
const MAX_VILLAGES: usize = 26 * 26 * 26;
/// Users a transaction when creating landlords.
const USERS_PER_TRANSACTION: usize = 5_000;

/// Rows per INSERT. Tenancies bind 21 values a row, so 1,000 rows stay well under SQLite's limit of 32,766
/// bound parameters per statement (and PostgreSQL's 65,535).
const ROWS_PER_INSERT: usize = 1_000;
/// Rows per transaction: large enough that commits cost nothing, small enough to show progress.
const ROWS_PER_TRANSACTION: usize = 50_000;
/// Registration codes have six digits.
const MAX_PROPERTIES: usize = 999_999;
/// Unit labels are a floor number and a two-digit room number, ten rooms a floor, at most 100 floors.
const MAX_UNITS_PER_PROPERTY: usize = 999;
/// Resident ID numbers of seeded tenants: this region code, a birth date counted in days from
/// `FIRST_BIRTH_DATE`, and a three-digit sequence number (so 1,000 people share each birth date).
/// `bench/declare.lua` uses another region code, so declared tenants never collide with seeded ones.
const SEED_REGION: &str = "350524";
const IDS_PER_BIRTH_DATE: usize = 1_000;
const FIRST_BIRTH_DATE: (i32, u32, u32) = (1960, 1, 1);
/// One declaration in fifty came after the deadline.
const LATE_EVERY: usize = 50;
/// One unit in fifty is a small room for one person.
const SMALL_UNIT_EVERY: usize = 50;

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "林", "郑"];
const GIVEN_NAMES: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛",
];
const ORIGINS: &[&str] = &["四川", "贵州", "江西", "湖南", "河南", "安徽", "云南", "重庆"];

#[derive(Parser)]
#[command(about = "Seed a database for load tests, with the same ANZU_* settings as the server")]
struct Args {
    /// Properties to register (all in the village BENCH, owned by one landlord, unless said below).
    #[arg(long, default_value_t = 10_000)]
    properties: usize,
    /// Units in each property.
    #[arg(long, default_value_t = 5)]
    units_per_property: usize,
    /// Tenancies, spread evenly over all units.
    #[arg(long, default_value_t = 200_000)]
    tenancies: usize,
    /// Villages; with more than one, the first holds a tenth of the properties and the rest share the others.
    #[arg(long, default_value_t = 1)]
    villages: usize,
    /// Landlords in each village; a village's properties go round them in turn.
    #[arg(long, default_value_t = 1)]
    landlords_per_village: usize,
    /// One tenancy in this many has ended (the tenant moved out), so the register has history.
    #[arg(long, default_value_t = 10)]
    ended_every: usize,
    /// Give seven properties in ten a rating (0 to 5 stars, some of them expired); without it none is rated.
    #[arg(long)]
    rated: bool,
    /// Password of the admin and the landlord.
    #[arg(long, default_value = "bench-password-1")]
    password: String,
    /// Where to write the shell variables for the load script; the unit ids go beside it.
    #[arg(long, default_value = "bench/seeded.env")]
    out: PathBuf,
    /// How many unit ids, spread over all properties, to list for the load script.
    #[arg(long, default_value_t = 1_000)]
    sample_units: usize,
}

#[actix_web::main]
async fn main() -> ExitCode {
    match seed(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("seed: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn seed(args: Args) -> anyhow::Result<()> {
    ensure!(
        (1..=MAX_PROPERTIES).contains(&args.properties),
        "--properties must be 1 to {MAX_PROPERTIES}"
    );
    ensure!(
        (1..=MAX_UNITS_PER_PROPERTY).contains(&args.units_per_property),
        "--units-per-property must be 1 to {MAX_UNITS_PER_PROPERTY}"
    );
    ensure!(
        (1..=MAX_VILLAGES.min(args.properties)).contains(&args.villages),
        "--villages must be 1 to {} (and at most --properties)",
        MAX_VILLAGES
    );
    ensure!(
        args.landlords_per_village >= 1,
        "--landlords-per-village must be at least 1"
    );
    ensure!(args.ended_every >= 1, "--ended-every must be at least 1");
    anzu::validation::password(&args.password)
        .map_err(|e| anyhow::anyhow!("--password {}", e.message.unwrap_or_default()))?;
    let settings = Settings::from_env()?;
    if let Some(path) = &settings.generated_secrets_file {
        println!(
            "note: no ANZU_DATA_KEY was set; generated one in {} (start the server with the same settings)",
            path.display()
        );
    }
    println!("seeding {}", anzu::config::redact_url(&settings.database_url));
    let today = today();
    let birth_dates = first_birth_date()?;
    let days_of_births = (today - birth_dates).num_days().max(0) as usize;
    ensure!(
        args.tenancies <= days_of_births * IDS_PER_BIRTH_DATE,
        "--tenancies must be at most {} (distinct resident ID numbers)",
        days_of_births * IDS_PER_BIRTH_DATE
    );

    let started = Instant::now();
    let db = Db::connect(&settings.database_url, 1)?;
    db.migrate()?;
    let taken = db.write_blocking(|conn| {
        Ok(villages::table
            .filter(villages::code.eq(VILLAGE_CODE))
            .count()
            .get_result::<i64>(conn)?)
    })?;
    if taken > 0 {
        bail!(
            "the village {VILLAGE_CODE} already exists in this database: it was seeded before. \
             Seed a fresh database (bench/run.sh makes one each run)."
        );
    }

    let step = Instant::now();
    let sizes = village_sizes(args.properties, args.villages);
    let villages: Vec<VillageRow> = (0..args.villages)
        .map(|v| VillageRow {
            id: new_id(),
            name: if v == 0 {
                "压测村".into()
            } else {
                format!("压测村 {}", v + 1)
            },
            code: village_code(v),
            created_at: now(),
            updated_at: now(),
            version: 1,
        })
        .collect();
    let village = &villages[0];
    let user = |name: &'static str, email: &'static str, role: Role, village: Option<String>| {
        new_user_row(
            name,
            email,
            None,
            args.password.clone(),
            role,
            village,
            MembershipStatus::Active,
        )
    };
    let admin = user("压测管理员", ADMIN_EMAIL, Role::Admin, None).await?;
    let auditor = user("压测审计员", AUDITOR_EMAIL, Role::Auditor, Some(village.id.clone())).await?;
    // One password hash for every landlord: hashing is slow on purpose, and they share the password.
    let first_landlord = user("压测房东", LANDLORD_EMAIL, Role::Landlord, Some(village.id.clone())).await?;
    let landlords: Vec<Vec<UserRow>> = villages
        .iter()
        .enumerate()
        .map(|(v, row)| {
            (0..args.landlords_per_village)
                .map(|k| {
                    if v == 0 && k == 0 {
                        return first_landlord.clone();
                    }
                    UserRow {
                        id: new_id(),
                        full_name: format!("压测房东 {}-{}", v + 1, k + 1),
                        email: format!("bench-landlord-{}-{}@example.cn", v + 1, k + 1),
                        village_id: Some(row.id.clone()),
                        ..first_landlord.clone()
                    }
                })
                .collect()
        })
        .collect();
    db.write_blocking(|conn| {
        for (row, size) in villages.iter().zip(&sizes) {
            anzu::villages::repo::insert(conn, row)?;
            // The village hands out the codes after the seeded ones.
            diesel::update(villages::table.find(&row.id))
                .set(villages::next_registration_seq.eq(size.count as i32 + 1))
                .execute(conn)?;
        }
        insert_user_audited(conn, None, &admin, "user.created")?;
        insert_user_audited(conn, None, &auditor, "user.created")?;
        Ok(())
    })
    .context("cannot create the villages and the bench admin and auditor")?;
    let all_landlords: Vec<&UserRow> = landlords.iter().flatten().collect();
    for batch in all_landlords.chunks(USERS_PER_TRANSACTION) {
        db.write_blocking(|conn| {
            for landlord in batch {
                insert_user_audited(conn, None, landlord, "user.created")?;
            }
            Ok(())
        })
        .context("cannot create the bench landlords")?;
    }
    println!(
        "{} village(s) ({VILLAGE_CODE}: {}), admin {ADMIN_EMAIL}, auditor {AUDITOR_EMAIL}, {} landlord(s) \
         ({LANDLORD_EMAIL}: {}) in {:.1?}",
        villages.len(),
        village.id,
        all_landlords.len(),
        first_landlord.id,
        step.elapsed()
    );

    let plan = Plan::new(&args, &settings, today, birth_dates, sizes);
    let cipher = IdentityCipher::new(&settings.data_key);

    let step = Instant::now();
    let property_ids: Vec<String> = (0..args.properties).map(|_| new_id()).collect();
    seed_table(
        &db,
        args.properties,
        |range| {
            Ok(range
                .map(|i| plan.property(i, &property_ids[i], &villages, &landlords))
                .collect())
        },
        insert_properties,
    )?;
    println!("{} properties in {:.1?}", args.properties, step.elapsed());

    let step = Instant::now();
    let unit_ids: Vec<String> = (0..plan.units).map(|_| new_id()).collect();
    seed_table(
        &db,
        plan.units,
        |range| Ok(range.map(|u| plan.unit(u, &unit_ids[u], &property_ids)).collect()),
        insert_units,
    )?;
    println!("{} units in {:.1?}", plan.units, step.elapsed());

    let step = Instant::now();
    seed_table(
        &db,
        args.tenancies,
        |range| {
            range
                .map(|t| plan.tenancy(t, &unit_ids, &property_ids, &cipher))
                .collect()
        },
        insert_tenancies,
    )?;
    println!(
        "{} tenancies ({} active) in {:.1?}",
        args.tenancies,
        plan.active_tenancies(),
        step.elapsed()
    );

    // Fresh tables have no planner statistics until autovacuum (PostgreSQL) or an ANALYZE (SQLite) gathers
    // them, and on PostgreSQL no visibility map (index-only scans would visit every row) until a vacuum; a live
    // register would have both, so make them now.
    let step = Instant::now();
    let gather = match anzu::config::Backend::of_url(&settings.database_url) {
        anzu::config::Backend::Postgres => "VACUUM ANALYZE",
        anzu::config::Backend::Sqlite => "ANALYZE",
    };
    db.get()?.batch_execute(gather)?;
    println!("{gather} in {:.1?}", step.elapsed());

    // The load scripts act as the first landlord: sample their properties' units only.
    let own: Vec<usize> = (0..args.properties).filter(|&i| plan.owner_of(i) == (0, 0)).collect();
    let own_units: Vec<String> = own
        .iter()
        .flat_map(|&i| i * args.units_per_property..(i + 1) * args.units_per_property)
        .map(|u| unit_ids[u].clone())
        .collect();
    let sample_units = sample_evenly(&own_units, args.sample_units);
    let sample_property = &property_ids[own[own.len() / 2]];
    write_outputs(&args.out, &village.id, sample_property, &sample_units)?;
    if let [first, second, ..] = plan.villages.as_slice() {
        println!(
            "village {VILLAGE_CODE} holds {} properties, {} the next {}",
            first.count, villages[1].code, second.count
        );
    }
    println!(
        "seeded in {:.1?}; ids for the load script in {}",
        started.elapsed(),
        args.out.display()
    );
    Ok(())
}

/// What to create: sizes, and the rules that make each row from its index, so that a unit's and a property's
/// counters are known without counting rows.
struct Plan {
    units_per_property: usize,
    villages: Vec<VillageSize>,
    landlords_per_village: usize,
    ended_every: usize,
    rated: bool,
    units: usize,
    tenancies: usize,
    min_area_per_person_m2: f64,
    declaration_deadline_days: i64,
    today: NaiveDate,
    first_birth_date: NaiveDate,
    at: NaiveDateTime,
}

impl Plan {
    fn new(
        args: &Args,
        settings: &Settings,
        today: NaiveDate,
        first_birth_date: NaiveDate,
        villages: Vec<VillageSize>,
    ) -> Self {
        Plan {
            units_per_property: args.units_per_property,
            villages,
            landlords_per_village: args.landlords_per_village,
            ended_every: args.ended_every,
            rated: args.rated,
            units: args.properties * args.units_per_property,
            tenancies: args.tenancies,
            min_area_per_person_m2: settings.min_area_per_person_m2,
            declaration_deadline_days: settings.declaration_deadline_days,
            today,
            first_birth_date,
            at: now(),
        }
    }

    /// Tenancy `t` is in unit `t % units`, so each unit gets every `units`-th tenancy.
    fn unit_of_tenancy(&self, t: usize) -> usize {
        t % self.units
    }

    /// One tenancy in `ended_every` has ended; mixing in the unit's round (`t / units`) spreads them over
    /// the units rather than emptying whole units.
    fn is_moved_out(&self, t: usize) -> bool {
        (t + t / self.units) % self.ended_every == self.ended_every - 1
    }

    /// The village of property `i`, and its place among the village's properties.
    fn village_of(&self, i: usize) -> (usize, usize) {
        let v = self.villages.partition_point(|size| size.start + size.count <= i);
        (v, i - self.villages[v].start)
    }

    /// The village and the landlord (within it) owning property `i`.
    fn owner_of(&self, i: usize) -> (usize, usize) {
        let (v, place) = self.village_of(i);
        (v, place % self.landlords_per_village)
    }

    /// Active tenancies `t` with `t % units == u`, counted arithmetically: tenancies `u`, `u + units`, ...
    fn active_in_unit(&self, u: usize) -> i32 {
        let total = if u < self.tenancies {
            (self.tenancies - u).div_ceil(self.units)
        } else {
            0
        };
        let moved_out = (0..total).filter(|k| self.is_moved_out(u + k * self.units)).count();
        (total - moved_out) as i32
    }

    fn active_tenancies(&self) -> usize {
        self.tenancies - (0..self.tenancies).filter(|&t| self.is_moved_out(t)).count()
    }

    fn unit_area_m2(u: usize) -> f64 {
        // One unit in `SMALL_UNIT_EVERY` is an 8 m² room for one, overcrowded at the default sizes (four tenancies
        // a unit); the rest are 20 to 48 m², room for four or more at the default 5 m² a person. So the register
        // has some overcrowding to notify, but not so much that the start-up sweep floods the outbox.
        if u % SMALL_UNIT_EVERY == SMALL_UNIT_EVERY - 1 {
            8.0
        } else {
            20.0 + 2.0 * (u % 15) as f64
        }
    }

    fn unit_max_occupants(&self, u: usize) -> i32 {
        default_max_occupants(Self::unit_area_m2(u), self.min_area_per_person_m2)
    }

    fn property(&self, i: usize, id: &str, villages: &[VillageRow], landlords: &[Vec<UserRow>]) -> PropertyRow {
        let units = i * self.units_per_property..(i + 1) * self.units_per_property;
        let kinds = PropertyKind::ALL;
        let (v, place) = self.village_of(i);
        let (_, owner) = self.owner_of(i);
        let (status, stars, score, rating_valid_until) = self.rating(i);
        PropertyRow {
            id: id.to_owned(),
            registration_code: format!("{}-{:06}", villages[v].code, place + 1),
            owner_id: landlords[v][owner].id.clone(),
            village_id: villages[v].id.clone(),
            grid_id: None,
            name: format!("压测楼 {}", i + 1),
            address: format!("压测村 {} 号", i + 1),
            kind: kinds[i % kinds.len()],
            floors: self.units_per_property.div_ceil(10).max(2 + i % 5) as i32,
            floor_area_m2: 80.0 + (i % 40) as f64 * 10.0,
            mixed_use_residence: false,
            status,
            stars,
            score,
            rating_valid_until,
            active_tenants: units.clone().map(|u| self.active_in_unit(u)).sum(),
            capacity: units.clone().map(|u| self.unit_max_occupants(u)).sum(),
            unit_count: units.len() as i32,
            created_at: self.at,
            updated_at: self.at,
            version: 1,
            enterprise_id: None,
            enterprise_since: None,
        }
    }

    /// With `--rated`, seven properties in ten rated: 0 to 5 stars in turn, valid for two years from a day in
    /// the last two years and two months (so about one in seven has expired); the rest registered only.
    fn rating(&self, i: usize) -> (PropertyStatus, Option<i32>, Option<i32>, Option<NaiveDate>) {
        if !self.rated || i % 10 >= 7 {
            return (PropertyStatus::Registered, None, None, None);
        }
        let stars = (i % 6) as i32;
        let valid_until = self.today + Duration::days(730 - 60 - (i % 790) as i64);
        (
            PropertyStatus::Rated,
            Some(stars),
            Some(40 + stars * 12),
            Some(valid_until),
        )
    }

    fn unit(&self, u: usize, id: &str, property_ids: &[String]) -> UnitRow {
        let j = u % self.units_per_property;
        UnitRow {
            id: id.to_owned(),
            property_id: property_ids[u / self.units_per_property].clone(),
            label: format!("{}{:02}", j / 10 + 1, j % 10 + 1),
            floor: (j / 10 + 1) as i32,
            area_m2: Self::unit_area_m2(u),
            kind: UnitKind::Room,
            max_occupants: self.unit_max_occupants(u),
            max_occupants_fixed: false,
            active_tenants: self.active_in_unit(u),
            created_at: self.at,
            updated_at: self.at,
            version: 1,
            enterprise_id: None,
            enterprise_since: None,
        }
    }

    /// The `t`-th distinct, valid resident ID number.
    fn resident_id(&self, t: usize) -> anyhow::Result<ResidentId> {
        let birth = self.first_birth_date + Duration::days((t / IDS_PER_BIRTH_DATE) as i64);
        let first17 = format!("{SEED_REGION}{}{:03}", birth.format("%Y%m%d"), t % IDS_PER_BIRTH_DATE);
        let check = check_character(&first17).context("the first 17 characters are digits")?;
        ResidentId::parse(&format!("{first17}{check}"), self.today)
            .map_err(|e| anyhow::anyhow!("generated resident ID number {t} is invalid: {e}"))
    }

    fn tenancy(
        &self,
        t: usize,
        unit_ids: &[String],
        property_ids: &[String],
        cipher: &IdentityCipher,
    ) -> anyhow::Result<TenancyRow> {
        let u = self.unit_of_tenancy(t);
        let number = self.resident_id(t)?;
        let id_type = IdType::ResidentId.as_str();
        // Moved in up to two years ago and declared at 10:00 local time: within the deadline, except one in
        // `LATE_EVERY`, declared two days after it.
        let move_in_date = self.today - Duration::days(30 + (t % 700) as i64);
        let delay_days = if t % LATE_EVERY == LATE_EVERY - 1 {
            self.declaration_deadline_days + 2
        } else {
            t as i64 % (self.declaration_deadline_days + 1)
        };
        let declared_at = (move_in_date + Duration::days(delay_days)).and_time(NaiveTime::MIN) + Duration::hours(2);
        let move_out_date = self
            .is_moved_out(t)
            .then(|| (move_in_date + Duration::days(20)).min(self.today));
        let id = new_id();
        Ok(TenancyRow {
            id_number_encrypted: cipher.encrypt(number.as_str(), Binding::tenancy_id_number(&id)),
            id,
            unit_id: unit_ids[u].clone(),
            property_id: property_ids[u / self.units_per_property].clone(),
            full_name: format!(
                "{}{}",
                SURNAMES[t % SURNAMES.len()],
                GIVEN_NAMES[(t / SURNAMES.len()) % GIVEN_NAMES.len()]
            ),
            id_type: IdType::ResidentId,
            id_lookup: cipher.lookup_hash(id_type, number.as_str()),
            id_number_masked: mask_document(IdType::ResidentId, number.as_str()),
            phone_encrypted: None,
            phone_masked: None,
            gender: Some(number.gender()),
            birth_date: Some(number.birth_date()),
            origin: Some(ORIGINS[t % ORIGINS.len()].into()),
            employer: None,
            move_in_date,
            move_out_date,
            declared_at,
            late: local_date(declared_at) - move_in_date > Duration::days(self.declaration_deadline_days),
            created_at: declared_at,
            updated_at: move_out_date.map_or(declared_at, |d| d.and_time(NaiveTime::MIN) + Duration::hours(2)),
            version: if move_out_date.is_some() { 2 } else { 1 },
            enterprise_id: None,
            erased_at: None,
        })
    }
}

/// The properties of one village: `start..start + count` of all properties.
struct VillageSize {
    start: usize,
    count: usize,
}

/// One village holds everything; with more, the first holds a tenth and the rest share the others evenly.
fn village_sizes(properties: usize, villages: usize) -> Vec<VillageSize> {
    let counts: Vec<usize> = if villages == 1 {
        vec![properties]
    } else {
        let first = (properties / 10).max(1);
        let rest = properties - first;
        let others = villages - 1;
        std::iter::once(first)
            .chain((0..others).map(|k| rest / others + usize::from(k < rest % others)))
            .collect()
    };
    let mut start = 0;
    counts
        .into_iter()
        .map(|count| {
            let size = VillageSize { start, count };
            start += count;
            size
        })
        .collect()
}

/// `BENCH` for the first village, then `BENCHAAB`, `BENCHAAC`, ... (codes are capital letters only).
fn village_code(v: usize) -> String {
    if v == 0 {
        return VILLAGE_CODE.into();
    }
    let letter = |k: usize| char::from(b'A' + (k % 26) as u8);
    format!("{VILLAGE_CODE}{}{}{}", letter(v / 676), letter(v / 26), letter(v))
}

fn first_birth_date() -> anyhow::Result<NaiveDate> {
    let (year, month, day) = FIRST_BIRTH_DATE;
    NaiveDate::from_ymd_opt(year, month, day).context("FIRST_BIRTH_DATE is a real date")
}

/// Creates `count` rows of one table, a transaction per `ROWS_PER_TRANSACTION` rows: `make` builds the rows of
/// a range of indices (outside the transaction), `insert` writes them.
fn seed_table<R>(
    db: &Db,
    count: usize,
    mut make: impl FnMut(Range<usize>) -> anyhow::Result<Vec<R>>,
    insert: fn(&mut DbConn, &[R]) -> Result<(), ApiError>,
) -> anyhow::Result<()> {
    for start in (0..count).step_by(ROWS_PER_TRANSACTION) {
        let rows = make(start..(start + ROWS_PER_TRANSACTION).min(count))?;
        db.write_blocking(|conn| insert(conn, &rows))?;
    }
    Ok(())
}

/// Runs one statement on the inner connection of either backend: the two-backend connection has no
/// multi-row INSERT.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            DbConn::Pg($c) => $body,
            DbConn::Sqlite($c) => $body,
        }
    };
}

// Each value below is bound explicitly (a `None` as NULL, never as DEFAULT): SQLite accepts no DEFAULT in a
// multi-row VALUES list, and diesel would otherwise fall back to one INSERT per row there.

fn insert_properties(conn: &mut DbConn, rows: &[PropertyRow]) -> Result<(), ApiError> {
    for batch in rows.chunks(ROWS_PER_INSERT) {
        let values: Vec<_> = batch
            .iter()
            .map(|r| {
                (
                    properties::id.eq(r.id.as_str()),
                    properties::registration_code.eq(r.registration_code.as_str()),
                    properties::owner_id.eq(r.owner_id.as_str()),
                    properties::village_id.eq(r.village_id.as_str()),
                    properties::grid_id.eq(r.grid_id.as_deref()),
                    properties::name.eq(r.name.as_str()),
                    properties::address.eq(r.address.as_str()),
                    properties::kind.eq(r.kind),
                    properties::floors.eq(r.floors),
                    properties::floor_area_m2.eq(r.floor_area_m2),
                    properties::mixed_use_residence.eq(r.mixed_use_residence),
                    properties::status.eq(r.status),
                    properties::stars.eq(r.stars),
                    properties::score.eq(r.score),
                    properties::rating_valid_until.eq(r.rating_valid_until),
                    properties::active_tenants.eq(r.active_tenants),
                    properties::capacity.eq(r.capacity),
                    properties::unit_count.eq(r.unit_count),
                    properties::created_at.eq(r.created_at),
                    properties::updated_at.eq(r.updated_at),
                    properties::version.eq(r.version),
                )
            })
            .collect();
        let statement = diesel::insert_into(properties::table).values(values);
        on_backend!(&mut *conn, |c| statement.execute(c))?;
    }
    Ok(())
}

fn insert_units(conn: &mut DbConn, rows: &[UnitRow]) -> Result<(), ApiError> {
    for batch in rows.chunks(ROWS_PER_INSERT) {
        let values: Vec<_> = batch
            .iter()
            .map(|r| {
                (
                    units::id.eq(r.id.as_str()),
                    units::property_id.eq(r.property_id.as_str()),
                    units::label.eq(r.label.as_str()),
                    units::floor.eq(r.floor),
                    units::area_m2.eq(r.area_m2),
                    units::kind.eq(r.kind),
                    units::max_occupants.eq(r.max_occupants),
                    units::max_occupants_fixed.eq(r.max_occupants_fixed),
                    units::active_tenants.eq(r.active_tenants),
                    units::created_at.eq(r.created_at),
                    units::updated_at.eq(r.updated_at),
                    units::version.eq(r.version),
                )
            })
            .collect();
        let statement = diesel::insert_into(units::table).values(values);
        on_backend!(&mut *conn, |c| statement.execute(c))?;
    }
    Ok(())
}

fn insert_tenancies(conn: &mut DbConn, rows: &[TenancyRow]) -> Result<(), ApiError> {
    for batch in rows.chunks(ROWS_PER_INSERT) {
        let values: Vec<_> = batch
            .iter()
            .map(|r| {
                (
                    tenancies::id.eq(r.id.as_str()),
                    tenancies::unit_id.eq(r.unit_id.as_str()),
                    tenancies::property_id.eq(r.property_id.as_str()),
                    tenancies::full_name.eq(r.full_name.as_str()),
                    tenancies::id_type.eq(r.id_type),
                    tenancies::id_number_encrypted.eq(r.id_number_encrypted.as_str()),
                    tenancies::id_lookup.eq(r.id_lookup.as_str()),
                    tenancies::id_number_masked.eq(r.id_number_masked.as_str()),
                    tenancies::phone_encrypted.eq(r.phone_encrypted.as_deref()),
                    tenancies::phone_masked.eq(r.phone_masked.as_deref()),
                    tenancies::gender.eq(r.gender),
                    tenancies::birth_date.eq(r.birth_date),
                    tenancies::origin.eq(r.origin.as_deref()),
                    tenancies::employer.eq(r.employer.as_deref()),
                    tenancies::move_in_date.eq(r.move_in_date),
                    tenancies::move_out_date.eq(r.move_out_date),
                    tenancies::declared_at.eq(r.declared_at),
                    tenancies::late.eq(r.late),
                    tenancies::created_at.eq(r.created_at),
                    tenancies::updated_at.eq(r.updated_at),
                    tenancies::version.eq(r.version),
                )
            })
            .collect();
        let statement = diesel::insert_into(tenancies::table).values(values);
        on_backend!(&mut *conn, |c| statement.execute(c))?;
    }
    Ok(())
}

/// Up to `count` items spread evenly over `items`.
fn sample_evenly(items: &[String], count: usize) -> Vec<&str> {
    let stride = items.len().div_ceil(count.max(1)).max(1);
    items.iter().step_by(stride).map(String::as_str).collect()
}

/// Writes `out` (shell variables) and, beside it, the sampled unit ids one a line.
fn write_outputs(out: &Path, village_id: &str, property_id: &str, unit_ids: &[&str]) -> anyhow::Result<()> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let units_file = out.with_extension("units");
    let mut units = unit_ids.join("\n");
    units.push('\n');
    std::fs::write(&units_file, units).with_context(|| format!("cannot write {}", units_file.display()))?;

    let mut env = String::from("# Written by examples/seed.rs for bench/run.sh.\n");
    let units_path = std::path::absolute(&units_file)?;
    for (name, value) in [
        ("VILLAGE_ID", village_id),
        ("PROPERTY_ID", property_id),
        ("UNIT_ID", unit_ids.first().copied().unwrap_or_default()),
        ("UNIT_IDS_FILE", &units_path.display().to_string()),
        ("ADMIN_EMAIL", ADMIN_EMAIL),
        ("LANDLORD_EMAIL", LANDLORD_EMAIL),
        ("AUDITOR_EMAIL", AUDITOR_EMAIL),
    ] {
        writeln!(env, "{name}='{value}'")?;
    }
    std::fs::write(out, env).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}
