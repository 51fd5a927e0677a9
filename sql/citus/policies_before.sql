-- Before policies/ is re-applied on Citus (`rowgate migrate`, the same transaction): every policy
-- of a Citus table goes, on the coordinator, the workers' metadata copies and every shard alike
-- (DDL propagation on). policies/ then recreates the single-node form on the coordinator only
-- (propagation off), and sql/citus/distribute.sql turns it into the Citus form everywhere.
do $$
declare
  p record;
begin
  for p in select pol.polname, pol.polrelid::regclass as tbl
             from pg_catalog.pg_policy pol join pg_catalog.pg_dist_partition d on d.logicalrelid = pol.polrelid
            order by 2, 1 loop
    execute format('drop policy %I on %s', p.polname, p.tbl);
  end loop;
end
$$;
